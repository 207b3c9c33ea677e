#include "passes.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <optional>
#include <unordered_set>

#include "reskit/core/memory.h"

namespace reskit::engine {
namespace {

// A traced convolution: aten::_convolution(input, weight, bias, stride,
// padding, dilation, transposed, output_padding, groups, benchmark,
// deterministic, cudnn_enabled, allow_tf32), as LibTorch's modules record
// it, or aten::convNd(input, weight, bias, stride, padding, dilation,
// groups). Returns the index of `groups`, or -1 for anything else
// (transposed convolutions included).
int conv_groups_input(const Graph& g, const Node& n);

bool is_conv(const Graph& g, const Node& n) { return conv_groups_input(g, n) >= 0; }

const Value& value(const Graph& g, int64_t id) { return g.values[static_cast<size_t>(id)]; }
bool constant_tensor(const Graph& g, int64_t id) {
  return value(g, id).is_constant && value(g, id).constant.isTensor();
}
bool constant_none(const Graph& g, int64_t id) { return value(g, id).is_constant && value(g, id).constant.isNone(); }
bool constant_tensor_or_none(const Graph& g, int64_t id) { return constant_tensor(g, id) || constant_none(g, id); }

// Every read of `from` (node inputs, graph outputs) reads `to` instead.
void replace_uses(Graph& g, int64_t from, int64_t to) {
  for (Node& n : g.nodes)
    for (int64_t& v : n.inputs)
      if (v == from) v = to;
  for (int64_t& v : g.outputs)
    if (v == from) v = to;
}

void erase_marked(Graph& g, const std::vector<bool>& erase) {
  std::vector<Node> kept;
  for (size_t i = 0; i < g.nodes.size(); ++i)
    if (!erase[i]) kept.push_back(std::move(g.nodes[i]));
  g.nodes = std::move(kept);
}

std::string shape_type(const at::Tensor& t) {
  std::string s = "Float(";
  for (int64_t d = 0; d < t.dim(); ++d) s += (d ? ", " : "") + std::to_string(t.size(d));
  return s + ")";
}

std::vector<int64_t> int_list(const Graph& g, int64_t id) { return value(g, id).constant.toIntVector(); }

int conv_groups_input(const Graph& g, const Node& n) {
  if ((n.kind == "aten::conv1d" || n.kind == "aten::conv2d" || n.kind == "aten::conv3d") && n.inputs.size() == 7)
    return 6;
  if (n.kind == "aten::_convolution" && n.inputs.size() == 13 && value(g, n.inputs[6]).is_constant &&
      value(g, n.inputs[6]).constant.isBool() && !value(g, n.inputs[6]).constant.toBool())
    return 8;
  return -1;
}

}  // namespace

constexpr int64_t kFoldBlock = 64;  // output channels folded at once

void fold_batch_norm(Graph& g) {
  const std::vector<int64_t> made_by = producers(g);
  const std::vector<int64_t> uses = g.use_counts();
  std::vector<bool> erase(g.nodes.size(), false);
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    const Node& bn = g.nodes[i];
    // aten::batch_norm(input, weight, bias, running_mean, running_var, training, momentum, eps, cudnn_enabled)
    if (bn.kind != "aten::batch_norm" || bn.inputs.size() != 9) continue;
    const int64_t x = bn.inputs[0];
    const int64_t p = made_by[static_cast<size_t>(x)];
    if (p < 0 || uses[static_cast<size_t>(x)] != 1) continue;
    Node& conv = g.nodes[static_cast<size_t>(p)];
    if (!is_conv(g, conv)) continue;
    if (!constant_tensor(g, conv.inputs[1]) || !constant_tensor_or_none(g, conv.inputs[2])) continue;
    const auto& in = bn.inputs;
    if (!constant_tensor_or_none(g, in[1]) || !constant_tensor_or_none(g, in[2]) || !constant_tensor(g, in[3]) ||
        !constant_tensor(g, in[4]) || !value(g, in[5]).is_constant || value(g, in[5]).constant.toBool() ||
        !value(g, in[7]).is_constant)
      continue;
    const at::Tensor weight = value(g, conv.inputs[1]).constant.toTensor();
    const at::Tensor mean = value(g, in[3]).constant.toTensor().to(at::kDouble);
    const at::Tensor var = value(g, in[4]).constant.toTensor().to(at::kDouble);
    const double eps = value(g, in[7]).constant.toDouble();
    at::Tensor scale = (var + eps).rsqrt();
    if (constant_tensor(g, in[1])) scale = scale * value(g, in[1]).constant.toTensor().to(at::kDouble);
    at::Tensor bias = constant_tensor(g, conv.inputs[2]) ? value(g, conv.inputs[2]).constant.toTensor().to(at::kDouble)
                                                         : at::zeros_like(mean);
    bias = (bias - mean) * scale;
    if (constant_tensor(g, in[2])) bias = bias + value(g, in[2]).constant.toTensor().to(at::kDouble);
    std::vector<int64_t> view(static_cast<size_t>(weight.dim()), 1);
    view[0] = -1;
    // In double, a block of output channels at a time: the temporaries stay
    // small beside the weights.
    const at::Tensor folded = at::empty(weight.sizes(), weight.options());
    for (int64_t first = 0; first < weight.size(0); first += kFoldBlock) {
      const int64_t n = std::min(kFoldBlock, weight.size(0) - first);
      folded.narrow(0, first, n).copy_(weight.narrow(0, first, n).to(at::kDouble) * scale.narrow(0, first, n).view(view));
    }
    const at::Tensor folded_bias = bias.to(weight.scalar_type()).contiguous();
    // The unfolded weights go at once where nothing else reads them: a
    // network's weights are then held about once, not twice, while folding.
    for (const int64_t old : {conv.inputs[1], conv.inputs[2]})
      if (uses[static_cast<size_t>(old)] == 1) release_constant(g, old);
    return_freed_memory();
    conv.inputs[1] = g.add_constant(folded, shape_type(folded));
    conv.inputs[2] = g.add_constant(folded_bias, shape_type(folded_bias));
    replace_uses(g, bn.outputs[0], x);
    erase[i] = true;
  }
  erase_marked(g, erase);
}

void convert_convolutions(Graph& g) {
  for (Node& n : g.nodes) {
    const int groups = conv_groups_input(g, n);
    if (groups < 0) continue;
    // Weights a float constant, or a float value of the run with known sizes
    // (a tracker's template kernels, correlated with the search map).
    const Value& w = value(g, n.inputs[1]);
    const bool constant_weights = constant_tensor(g, n.inputs[1]);
    if (constant_weights ? w.constant.toTensor().scalar_type() != at::kFloat
                         : w.is_constant || w.dtype != at::kFloat || w.sizes.size() < 3)
      continue;
    if (!constant_tensor_or_none(g, n.inputs[2])) continue;
    bool numeric = value(g, n.inputs[groups]).is_constant;
    for (int k = 3; k < 6; ++k) numeric = numeric && value(g, n.inputs[k]).is_constant && value(g, n.inputs[k]).constant.isIntList();
    if (!numeric) continue;
    // aten::conv2d takes one value for every spatial dim ([1] for [1, 1]), as PyTorch's F.conv2d(x, w, stride=1) traces.
    const size_t spatial = (constant_weights ? static_cast<size_t>(w.constant.toTensor().dim()) : w.sizes.size()) - 2;
    const auto expanded = [&](std::vector<int64_t> v) {
      if (v.size() == 1) v.assign(spatial, v[0]);
      return v;
    };
    n.conv.stride = expanded(int_list(g, n.inputs[3]));
    n.conv.padding = expanded(int_list(g, n.inputs[4]));
    n.conv.dilation = expanded(int_list(g, n.inputs[5]));
    if (n.conv.stride.size() != spatial || n.conv.padding.size() != spatial || n.conv.dilation.size() != spatial) continue;
    n.conv.groups = value(g, n.inputs[groups]).constant.toInt();
    n.inputs.resize(3);
    n.kind = "reskit::conv";
    n.operation.reset();
  }
}

void fuse_conv_epilogues(Graph& g) {
  std::vector<bool> erase(g.nodes.size(), false);
  bool changed = true;
  while (changed) {  // add, then the activation: one epilogue at a time
    changed = false;
    const std::vector<int64_t> made_by = producers(g);
    const std::vector<int64_t> uses = g.use_counts();
    for (size_t i = 0; i < g.nodes.size(); ++i) {
      if (erase[i]) continue;
      const Node& n = g.nodes[i];
      const std::optional<Activation> activation = activation_of(g, n);
      // aten::add(a, b, alpha) with alpha 1: either side may be the conv's output.
      const bool add = (n.kind == "aten::add" || n.kind == "aten::add_") && n.inputs.size() == 3 &&
                       value(g, n.inputs[2]).is_constant && value(g, n.inputs[2]).constant.isInt() &&
                       value(g, n.inputs[2]).constant.toInt() == 1;
      if (!activation && !add) continue;
      for (size_t side = 0; side < (add ? 2u : 1u); ++side) {
        const int64_t x = n.inputs[side];
        const int64_t p = made_by[static_cast<size_t>(x)];
        if (p < 0 || erase[static_cast<size_t>(p)] || uses[static_cast<size_t>(x)] != 1) continue;
        Node& conv = g.nodes[static_cast<size_t>(p)];
        if (conv.kind != "reskit::conv" || !conv.conv.activation.none() || (add && conv.conv.residual)) continue;
        // aten::add_ writes its first argument: fused, the sum goes to the
        // conv's output instead. That is right when the argument is this
        // conv's output, or a conv's output that nothing else reads (a
        // bottleneck's `out += downsample(x)`); a graph input, a view or a
        // value read later would see eager's write.
        if (add && n.kind == "aten::add_" && side != 0) {
          const int64_t written = n.inputs[0];
          const int64_t writer = made_by[static_cast<size_t>(written)];
          if (writer < 0 || g.nodes[static_cast<size_t>(writer)].kind != "reskit::conv" ||
              uses[static_cast<size_t>(written)] != 1)
            continue;
        }
        if (add) {
          const int64_t other = n.inputs[1 - side];
          // The residual must exist before the conv runs, and have the output's
          // shape and dtype (a broadcast add stays aten's).
          const int64_t made = made_by[static_cast<size_t>(other)];
          const Value &o = value(g, other), &out = value(g, x), &sum = value(g, n.outputs[0]);
          if (made >= p || o.is_constant || !o.is_tensor() || o.sizes != out.sizes || o.dtype != out.dtype ||
              sum.sizes != out.sizes)
            continue;
          conv.inputs.push_back(other);
          conv.conv.residual = true;
        } else {
          conv.conv.activation = *activation;
        }
        replace_uses(g, n.outputs[0], x);
        erase[i] = true;
        g.nodes[i].inputs.clear();  // it reads nothing now, for the counts of the next sweep
        changed = true;
        break;
      }
      // Producers and use counts are stale once a node is fused: the next
      // fusion must see the reads this one moved (`relu(y)` beside `y`).
      if (changed) break;
    }
  }
  erase_marked(g, erase);
}

void fold_constants(Graph& g) {
  std::vector<bool> erase(g.nodes.size(), false);
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    Node& n = g.nodes[i];
    // In-place ops write their input: a constant must stay what it is.
    if (!n.operation || n.kind.back() == '_' || n.inputs.empty()) continue;
    // Random draws and uninitialised memory differ from one run to the next.
    if (n.kind.find("rand") != std::string::npos || n.kind.find("bernoulli") != std::string::npos ||
        n.kind.find("normal") != std::string::npos || n.kind.find("empty") != std::string::npos)
      continue;
    bool constant = true;
    for (int64_t v : n.inputs) constant = constant && value(g, v).is_constant;
    if (!constant) continue;
    torch::jit::Stack stack;
    for (int64_t v : n.inputs) stack.push_back(value(g, v).constant);
    (*n.operation)(stack);
    if (stack.size() != n.outputs.size()) continue;
    for (size_t o = 0; o < n.outputs.size(); ++o) {
      Value& out = g.values[static_cast<size_t>(n.outputs[o])];
      out.is_constant = true;
      out.constant = stack[o];
    }
    erase[i] = true;
  }
  erase_marked(g, erase);
}

void eliminate_dead_code(Graph& g) {
  // Backwards: a node is kept if a kept node or the graph's outputs read one of its outputs,
  // or if it writes one of its inputs in place (an op ending in '_').
  std::vector<bool> live(g.values.size(), false);
  for (int64_t v : g.outputs) live[static_cast<size_t>(v)] = true;
  std::vector<bool> erase(g.nodes.size(), false);
  for (size_t k = g.nodes.size(); k-- > 0;) {
    const Node& n = g.nodes[k];
    bool needed = n.kind.back() == '_';
    for (int64_t v : n.outputs) needed = needed || live[static_cast<size_t>(v)];
    if (!needed) {
      erase[k] = true;
      continue;
    }
    for (int64_t v : n.inputs) live[static_cast<size_t>(v)] = true;
  }
  erase_marked(g, erase);
}

const std::vector<Pass>& passes() {
  static const std::vector<Pass> all = {{"fold_batch_norm", fold_batch_norm},
                                        {"convert_convolutions", convert_convolutions},
                                        {"fuse_conv_epilogues", fuse_conv_epilogues},
                                        {"fold_constants", fold_constants},
                                        {"eliminate_dead_code", eliminate_dead_code}};
  return all;
}

}  // namespace reskit::engine
