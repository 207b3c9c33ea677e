#include "aten_steps.h"

#include <ATen/ATen.h>

#include "reskit/core/error.h"

namespace reskit::engine {
namespace {

// A node's inputs as the step reads them: a value id, or a constant held here.
struct Operand {
  int64_t value = -1;  // -1: `constant`
  c10::IValue constant;
};

std::vector<Operand> operands(const Graph& g, const Node& n) {
  std::vector<Operand> out;
  for (int64_t v : n.inputs) {
    if (g.value(v).is_constant)
      out.push_back({-1, g.value(v).constant});
    else
      out.push_back({v, {}});
  }
  return out;
}

const c10::IValue& read(const RunContext& c, const Operand& o) {
  return o.value < 0 ? o.constant : c.values[static_cast<size_t>(o.value)];
}

StepIo tensor_io(const Node& n, const std::vector<Operand>& ops) {
  StepIo io;
  for (const Operand& o : ops)
    if (o.value >= 0) io.tensor_reads.push_back(o.value);
  io.tensor_writes = n.outputs;
  return io;
}

class JitOpStep : public Step {
 public:
  JitOpStep(const Graph& g, const Node& n) : node_(n), operands_(operands(g, n)) { io = tensor_io(n, operands_); }

  void run(RunContext& c, size_t) const override {
    torch::jit::Stack stack;
    stack.reserve(operands_.size());
    for (const Operand& o : operands_) stack.push_back(read(c, o));
    (*node_.operation)(stack);
    if (stack.size() != node_.outputs.size())
      throw Error("engine: " + node_.kind + " left " + std::to_string(stack.size()) + " values, expected " +
                  std::to_string(node_.outputs.size()));
    for (size_t o = 0; o < node_.outputs.size(); ++o) c.values[static_cast<size_t>(node_.outputs[o])] = std::move(stack[o]);
  }

  std::string text() const override { return node_.kind + " (aten)"; }

 private:
  Node node_;
  std::vector<Operand> operands_;
};

at::Tensor activate(at::Tensor x, const Activation& a) {
  switch (a.kind) {
    case Activation::Kind::kNone: return x;
    case Activation::Kind::kRelu: return x.relu_();
    case Activation::Kind::kLeakyRelu: return at::leaky_relu_(x, a.alpha);
    case Activation::Kind::kSilu: return at::silu_(x);
    case Activation::Kind::kSigmoid: return x.sigmoid_();
    case Activation::Kind::kClip: return at::hardtanh_(x, a.alpha, a.beta);
  }
  return x;
}

// reskit::conv on LibTorch: oneDNN through ATen for float CPU 2-D and 3-D
// convolutions (LibTorch's own choice would send many to im2col + BLAS),
// ATen's convolution for the rest; the residual and activation after it.
class AtenConvStep : public Step {
 public:
  AtenConvStep(const Graph& g, const Node& n) : node_(n), operands_(operands(g, n)) {
    io = tensor_io(n, operands_);
    flop = conv_flop(g, n);
  }

  void run(RunContext& c, size_t) const override {
    const at::Tensor x = read(c, operands_[0]).toTensor();
    const at::Tensor w = read(c, operands_[1]).toTensor();
    const c10::IValue& b = read(c, operands_[2]);
    const c10::optional<at::Tensor> bias = b.isTensor() ? c10::optional<at::Tensor>(b.toTensor()) : c10::nullopt;
    const ConvAttributes& a = node_.conv;
    at::Tensor out;
    if (at::hasMKLDNN() && x.device().is_cpu() && x.scalar_type() == at::kFloat && (x.dim() == 4 || x.dim() == 5) &&
        x.numel() > 0)
      out = at::mkldnn_convolution(x.contiguous(), w, bias, a.padding, a.stride, a.dilation, a.groups);
    else
      out = at::convolution(x, w, bias, a.stride, a.padding, a.dilation, false,
                            std::vector<int64_t>(a.stride.size(), 0), a.groups);
    if (a.residual) out.add_(read(c, operands_[3]).toTensor());
    c.values[static_cast<size_t>(node_.outputs[0])] = activate(out, a.activation);
  }

  std::string text() const override { return "reskit::conv (aten)"; }

 private:
  Node node_;
  std::vector<Operand> operands_;
};

}  // namespace

std::unique_ptr<Step> make_aten_step(const Graph& graph, const Node& node) {
  if (node.kind == "reskit::conv") return std::make_unique<AtenConvStep>(graph, node);
  if (!node.operation) throw Error("engine: " + node.kind + " has no operation to run");
  return std::make_unique<JitOpStep>(graph, node);
}

}  // namespace reskit::engine
