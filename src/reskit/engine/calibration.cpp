#include "calibration.h"

#include <ATen/ATen.h>

#include <algorithm>

#include "aten_steps.h"
#include "reskit/core/error.h"
#include "reskit/core/text_format.h"

namespace reskit::engine {

namespace {

// Whether the graph guarantees `v` >= 0: the output of a ReLU-like
// activation (fused into a conv or on its own), or a pool of such a value.
bool non_negative(const Graph& g, const std::vector<int64_t>& made_by, int64_t v) {
  const int64_t p = made_by[static_cast<size_t>(v)];
  if (p < 0) return false;
  const Node& n = g.nodes[static_cast<size_t>(p)];
  const auto clamps_at_zero = [](const Activation& a) {
    return (a.kind == Activation::Kind::kRelu && a.alpha == 0) ||
           (a.kind == Activation::Kind::kClip && a.alpha >= 0) || a.kind == Activation::Kind::kSigmoid;
  };
  if (n.kind == "reskit::conv") return clamps_at_zero(n.conv.activation);
  if (const std::optional<Activation> a = activation_of(g, n)) return clamps_at_zero(*a);
  static const char* const kPools[] = {"aten::max_pool2d", "aten::max_pool3d", "aten::avg_pool2d",
                                       "aten::avg_pool3d", "aten::adaptive_avg_pool2d",
                                       "aten::adaptive_avg_pool3d"};
  for (const char* pool : kPools)
    if (n.kind == pool) return non_negative(g, made_by, n.inputs[0]);
  return false;
}

}  // namespace

Calibration calibrate(const Graph& graph, const std::vector<std::vector<at::Tensor>>& inputs,
                      Progress::Style style) {
  if (inputs.empty()) throw Error("int8: a calibration set is needed (one input set at least)");
  const std::vector<int64_t> made_by = producers(graph);

  Calibration c;
  std::vector<bool> wanted(graph.values.size(), false);
  for (const Node& n : graph.nodes)
    if (n.kind == "reskit::conv" && !graph.value(n.inputs[0]).is_constant) {
      wanted[static_cast<size_t>(n.inputs[0])] = true;
      c.max_abs[n.inputs[0]] = 0;
      c.non_negative[n.inputs[0]] = non_negative(graph, made_by, n.inputs[0]);
    }

  // ATen steps over the graph as it is (they hold their own references to
  // its constants, so the plan's lowering after this finds them all).
  std::vector<std::unique_ptr<Step>> steps;
  for (const Node& n : graph.nodes) steps.push_back(make_aten_step(graph, n));
  // Each value goes after its last reader, as in a plan's run.
  std::vector<std::vector<int64_t>> releases(graph.nodes.size());
  {
    std::vector<int64_t> last(graph.values.size(), -1);
    for (size_t k = 0; k < graph.nodes.size(); ++k)
      for (int64_t v : graph.nodes[k].inputs) last[static_cast<size_t>(v)] = static_cast<int64_t>(k);
    for (int64_t v : graph.outputs) last[static_cast<size_t>(v)] = -1;
    for (size_t v = 0; v < last.size(); ++v)
      if (last[v] >= 0 && !graph.values[v].is_constant) releases[static_cast<size_t>(last[v])].push_back(static_cast<int64_t>(v));
  }
  RunContext context;
  context.step_state.resize(steps.size());
  const auto record = [&](int64_t v) {
    if (!wanted[static_cast<size_t>(v)]) return;
    const c10::IValue& value = context.values[static_cast<size_t>(v)];
    if (!value.isTensor()) return;
    float& m = c.max_abs[v];
    m = std::max(m, value.toTensor().abs().max().item<float>());
  };
  at::NoGradGuard no_grad;
  Progress progress("int8 calibration", static_cast<int64_t>(inputs.size()), style);
  for (const std::vector<at::Tensor>& set : inputs) {
    if (set.size() != graph.inputs.size())
      throw Error("int8: a calibration set has " + std::to_string(set.size()) + " inputs, the model takes " +
                  std::to_string(graph.inputs.size()));
    for (size_t i = 0; i < set.size(); ++i) {
      const Value& in = graph.value(graph.inputs[i]);
      if (set[i].sizes().vec() != in.sizes || set[i].scalar_type() != in.dtype)
        throw Error("int8: calibration input " + std::to_string(i) + " is " + sizes_text(set[i].sizes().vec()) + " " +
                    c10::toString(set[i].scalar_type()) + ", the plan's is " + sizes_text(in.sizes) + " " +
                    c10::toString(in.dtype));
    }
    context.values.assign(graph.values.size(), c10::IValue());
    for (size_t i = 0; i < set.size(); ++i) {
      context.values[static_cast<size_t>(graph.inputs[i])] = set[i];
      record(graph.inputs[i]);
    }
    for (size_t k = 0; k < steps.size(); ++k) {
      steps[k]->run(context, k);
      for (int64_t v : graph.nodes[k].outputs) record(v);
      for (int64_t v : releases[k]) context.values[static_cast<size_t>(v)] = c10::IValue();
    }
    progress.step();
  }
  progress.finish();
  return c;
}

}  // namespace reskit::engine
