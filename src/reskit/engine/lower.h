#pragma once
// From the passes' graph to the steps a plan runs. Each node, in order, is
// offered to the backend (oneDNN on the CPU, where reskit is built with it):
// what it takes becomes its steps over buffers; every other node becomes an
// ATen step over tensors, with a conversion step before it for each input
// that only a buffer holds. The graph's outputs end as tensors.
#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "graph.h"
#include "step.h"

namespace reskit::engine {

class Lowering;

// A kernel library the lowering offers nodes to.
class Backend {
 public:
  virtual ~Backend() = default;
  // Emits the steps of the node being lowered and returns true, or returns
  // false to leave it to ATen (a backend makes what can fail first, so that
  // it emits nothing then).
  virtual bool lower(Lowering& lowering, const Node& node) = 0;
  // A step that copies buffer `buffer` into a new dense tensor at value `value`'s tensor home.
  virtual std::unique_ptr<Step> to_tensor(Lowering& lowering, int64_t value, int64_t buffer) = 0;
  // What a run context holds for this backend (a stream).
  virtual std::shared_ptr<void> make_context_state() const = 0;
};

class Lowering {
 public:
  // Once a node is lowered, the constants no later node reads are released
  // (graph.h: release_constant): its step holds what it needs (a kernel its
  // reordered copy, an ATen step its own reference), so a network's weights
  // are held once, not twice, while lowering.
  Lowering(Graph& graph, Backend* backend);

  const Graph& graph() const { return graph_; }
  // The node being lowered, and whether it is the last to read `value` (so that
  // a kernel may write over it): not a graph output, no later node reads it.
  size_t node_index() const { return node_; }
  bool last_read_here(int64_t value) const;
  // The nodes that read `value`, in order, and whether it is a graph output.
  const std::vector<int64_t>& readers(int64_t value) const { return readers_[static_cast<size_t>(value)]; }
  bool is_output(int64_t value) const { return last_reader_[static_cast<size_t>(value)] == -2; }
  // A value's homes: its buffer (-1: none) and whether a tensor holds it.
  int64_t buffer_of(int64_t value) const { return buffer_of_[static_cast<size_t>(value)]; }
  bool has_tensor(int64_t value) const { return has_tensor_[static_cast<size_t>(value)]; }
  void set_buffer(int64_t value, int64_t buffer) { buffer_of_[static_cast<size_t>(value)] = buffer; }

  int64_t add_buffer(BufferSpec spec);
  const BufferSpec& buffer(int64_t id) const { return result_.buffers[static_cast<size_t>(id)]; }
  void add_step(std::unique_ptr<Step> step) { result_.steps.push_back(std::move(step)); }
  void need_scratchpad(size_t bytes) { result_.scratchpad_bytes = std::max(result_.scratchpad_bytes, bytes); }
  void add_weight_bytes(size_t bytes) { result_.weight_bytes += bytes; }

  struct Result {
    std::vector<std::unique_ptr<Step>> steps;
    std::vector<BufferSpec> buffers;
    size_t scratchpad_bytes = 0, weight_bytes = 0;
  };
  // Lowers the whole graph.
  Result run() &&;

 private:
  void ensure_tensor(int64_t value);
  void release_constants_read_last();

  Result result_;
  Graph& graph_;
  Backend* backend_;
  size_t node_ = 0;
  std::vector<int64_t> buffer_of_;
  std::vector<bool> has_tensor_;
  std::vector<int64_t> last_reader_;  // node index; -2: a graph output
  std::vector<std::vector<int64_t>> readers_;
};

}  // namespace reskit::engine
