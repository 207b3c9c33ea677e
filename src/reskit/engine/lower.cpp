#include "lower.h"

#include "aten_steps.h"
#include "reskit/core/memory.h"

namespace reskit::engine {

Lowering::Lowering(Graph& graph, Backend* backend)
    : graph_(graph),
      backend_(backend),
      buffer_of_(graph.values.size(), -1),
      has_tensor_(graph.values.size(), false),
      last_reader_(graph.values.size(), -1),
      readers_(graph.values.size()) {
  for (int64_t v : graph.inputs) has_tensor_[static_cast<size_t>(v)] = true;
  for (size_t i = 0; i < graph.nodes.size(); ++i)
    for (int64_t v : graph.nodes[i].inputs) {
      last_reader_[static_cast<size_t>(v)] = static_cast<int64_t>(i);
      if (readers_[static_cast<size_t>(v)].empty() || readers_[static_cast<size_t>(v)].back() != static_cast<int64_t>(i))
        readers_[static_cast<size_t>(v)].push_back(static_cast<int64_t>(i));
    }
  for (int64_t v : graph.outputs) last_reader_[static_cast<size_t>(v)] = -2;
}

bool Lowering::last_read_here(int64_t value) const {
  return last_reader_[static_cast<size_t>(value)] == static_cast<int64_t>(node_);
}

void Lowering::release_constants_read_last() {
  bool released = false;
  for (int64_t v : graph_.nodes[node_].inputs) {
    const Value& value = graph_.value(v);
    if (!value.is_constant || !value.constant.isTensor() || !last_read_here(v)) continue;
    release_constant(graph_, v);
    released = true;
  }
  if (released) return_freed_memory();
}

int64_t Lowering::add_buffer(BufferSpec spec) {
  result_.buffers.push_back(std::move(spec));
  return static_cast<int64_t>(result_.buffers.size()) - 1;
}

void Lowering::ensure_tensor(int64_t value) {
  if (graph_.value(value).is_constant || has_tensor(value)) return;
  const int64_t buffer = buffer_of(value);
  if (buffer < 0 || !backend_) return;  // nothing holds it: the ATen step reports the missing input
  add_step(backend_->to_tensor(*this, value, buffer));
  has_tensor_[static_cast<size_t>(value)] = true;
}

Lowering::Result Lowering::run() && {
  for (node_ = 0; node_ < graph_.nodes.size(); ++node_) {
    const Node& n = graph_.nodes[node_];
    if (!backend_ || !backend_->lower(*this, n)) {
      for (int64_t v : n.inputs) ensure_tensor(v);
      add_step(make_aten_step(graph_, n));
      for (int64_t v : n.outputs) has_tensor_[static_cast<size_t>(v)] = true;
    }
    release_constants_read_last();
  }
  for (int64_t v : graph_.outputs) ensure_tensor(v);
  return std::move(result_);
}

}  // namespace reskit::engine
