#include "graph.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <map>
#include <sstream>

namespace reskit::engine {
namespace {

std::string constant_text(const c10::IValue& v) {
  if (v.isTensor()) {
    const at::Tensor& t = v.toTensor();
    std::ostringstream s;
    s << c10::toString(t.scalar_type()) << "(";
    for (int64_t d = 0; d < t.dim(); ++d) s << (d ? ", " : "") << t.size(d);
    s << ")";
    return s.str();
  }
  std::ostringstream s;
  s << v;
  return s.str();
}

std::string value_text(const Graph& g, int64_t id) {
  const Value& v = g.values[static_cast<size_t>(id)];
  return v.is_constant ? constant_text(v.constant) : "%" + std::to_string(id);
}

// "Float(1, 64, 56, 56)" where the trace knew the sizes, else the traced type.
std::string type_text(const Value& v) {
  if (!v.is_tensor()) return v.type;
  std::ostringstream s;
  s << c10::toString(v.dtype) << "(";
  for (size_t d = 0; d < v.sizes.size(); ++d) s << (d ? ", " : "") << v.sizes[d];
  s << ")";
  return s.str();
}

std::string ints_text(const std::vector<int64_t>& v) {
  std::string s = "[";
  for (size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + std::to_string(v[i]);
  return s + "]";
}

}  // namespace

std::string Activation::name() const {
  std::ostringstream s;
  switch (kind) {
    case Kind::kNone: return "";
    case Kind::kRelu: return "relu";
    case Kind::kLeakyRelu: s << "leaky_relu(" << alpha << ")"; return s.str();
    case Kind::kSilu: return "silu";
    case Kind::kSigmoid: return "sigmoid";
    case Kind::kClip: s << "clip(" << alpha << ", " << beta << ")"; return s.str();
  }
  return "";
}

int64_t Graph::add_constant(c10::IValue v, std::string type) {
  Value value;
  value.is_constant = true;
  value.constant = std::move(v);
  value.type = std::move(type);
  values.push_back(std::move(value));
  return static_cast<int64_t>(values.size()) - 1;
}

std::optional<Activation> activation_of(const Graph& g, const Node& n) {
  const std::string& k = n.kind;
  const auto scalar = [&](size_t i) -> std::optional<double> {
    if (i >= n.inputs.size() || !g.value(n.inputs[i]).is_constant) return std::nullopt;
    const c10::IValue& v = g.value(n.inputs[i]).constant;
    if (v.isDouble()) return v.toDouble();
    if (v.isInt()) return static_cast<double>(v.toInt());
    return std::nullopt;
  };
  Activation a;
  if ((k == "aten::relu" || k == "aten::relu_") && n.inputs.size() == 1) {
    a.kind = Activation::Kind::kRelu;
  } else if ((k == "aten::leaky_relu" || k == "aten::leaky_relu_") && n.inputs.size() == 2 && scalar(1)) {
    a.kind = Activation::Kind::kLeakyRelu;
    a.alpha = *scalar(1);
  } else if ((k == "aten::silu" || k == "aten::silu_") && n.inputs.size() == 1) {
    a.kind = Activation::Kind::kSilu;
  } else if ((k == "aten::sigmoid" || k == "aten::sigmoid_") && n.inputs.size() == 1) {
    a.kind = Activation::Kind::kSigmoid;
  } else if ((k == "aten::relu6" || k == "aten::relu6_") && n.inputs.size() == 1) {
    a = {Activation::Kind::kClip, 0, 6};
  } else if ((k == "aten::hardtanh" || k == "aten::hardtanh_") && n.inputs.size() == 3 && scalar(1) && scalar(2)) {
    a = {Activation::Kind::kClip, *scalar(1), *scalar(2)};
  } else {
    return std::nullopt;
  }
  return a;
}

void release_constant(Graph& g, int64_t id) {
  Value& v = g.values[static_cast<size_t>(id)];
  if (!v.is_constant || !v.constant.isTensor()) return;
  const at::Tensor& t = v.constant.toTensor();
  if (t.is_meta()) return;
  v.constant = at::empty(t.sizes(), t.options().device(at::kMeta));
}

void release_unused_constants(Graph& g) {
  const std::vector<int64_t> uses = g.use_counts();
  for (size_t v = 0; v < g.values.size(); ++v)
    if (uses[v] == 0) release_constant(g, static_cast<int64_t>(v));
}

double conv_flop(const Graph& g, const Node& n) {
  if (n.kind != "reskit::conv" || n.outputs.empty()) return 0;
  const Value& out = g.value(n.outputs[0]);
  const Value& wv = g.value(n.inputs[1]);
  const std::vector<int64_t> w = wv.is_constant ? wv.constant.toTensor().sizes().vec() : wv.sizes;
  double flop = 2.0;
  for (int64_t d : out.sizes) flop *= static_cast<double>(d);
  for (size_t d = 1; d < w.size(); ++d) flop *= static_cast<double>(w[d]);  // in/groups x kernel
  return out.sizes.empty() ? 0 : flop;
}

std::vector<int64_t> producers(const Graph& g) {
  std::vector<int64_t> made_by(g.values.size(), -1);
  for (size_t i = 0; i < g.nodes.size(); ++i)
    for (int64_t v : g.nodes[i].outputs) made_by[static_cast<size_t>(v)] = static_cast<int64_t>(i);
  return made_by;
}

std::vector<int64_t> Graph::use_counts() const {
  std::vector<int64_t> uses(values.size(), 0);
  for (const Node& n : nodes)
    for (int64_t v : n.inputs) ++uses[static_cast<size_t>(v)];
  for (int64_t v : outputs) ++uses[static_cast<size_t>(v)];
  return uses;
}

std::string to_text(const Graph& g) {
  std::ostringstream s;
  s << "graph(";
  for (size_t i = 0; i < g.inputs.size(); ++i)
    s << (i ? ", " : "") << "%" << g.inputs[i] << " : " << type_text(g.value(g.inputs[i]));
  s << "):\n";
  for (const Node& n : g.nodes) {
    s << "  ";
    for (size_t i = 0; i < n.outputs.size(); ++i) s << (i ? ", " : "") << "%" << n.outputs[i];
    s << (n.outputs.empty() ? "" : " = ") << n.kind;
    if (n.kind == "reskit::conv") {
      std::string tags;
      if (n.conv.residual) tags += "add";
      if (!n.conv.activation.none()) tags += (tags.empty() ? "" : ",") + n.conv.activation.name();
      if (!tags.empty()) s << "[" << tags << "]";
    }
    s << "(";
    for (size_t i = 0; i < n.inputs.size(); ++i) s << (i ? ", " : "") << value_text(g, n.inputs[i]);
    if (n.kind == "reskit::conv")
      s << ", stride=" << ints_text(n.conv.stride) << ", padding=" << ints_text(n.conv.padding)
        << ", dilation=" << ints_text(n.conv.dilation) << ", groups=" << n.conv.groups;
    s << ")";
    if (!n.outputs.empty()) s << "  # " << type_text(g.value(n.outputs[0]));
    s << "\n";
  }
  s << "  return (";
  for (size_t i = 0; i < g.outputs.size(); ++i) s << (i ? ", " : "") << value_text(g, g.outputs[i]);
  s << ")\n";
  return s.str();
}

std::string kind_counts(const Graph& g) {
  std::map<std::string, int64_t> counts;
  for (const Node& n : g.nodes) ++counts[n.kind];
  std::vector<std::pair<std::string, int64_t>> sorted(counts.begin(), counts.end());
  std::stable_sort(sorted.begin(), sorted.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
  std::string s;
  for (const auto& [kind, n] : sorted) s += (s.empty() ? "" : ", ") + std::to_string(n) + " " + kind;
  return s;
}

}  // namespace reskit::engine
