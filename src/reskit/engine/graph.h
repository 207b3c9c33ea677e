#pragma once
// The engine's graph: a flat list of nodes over numbered values, in the
// order they run. A value is a graph input, a node's output or a constant
// (a weight, an int list, None ...). A node is either one of the engine's
// own kinds ("reskit::conv") or a LibTorch op kept as it was traced
// ("aten::max_pool2d"), which runs through its JIT operation: the ATen
// fallback, whose results are LibTorch's own.
#include <ATen/core/ivalue.h>
#include <torch/csrc/jit/runtime/operator.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace reskit::engine {

struct Value {
  bool is_constant = false;
  c10::IValue constant;  // when is_constant
  std::string type;      // the traced type, for printing ("Float(1, 64, 56, 56)")
  // A tensor's traced sizes and dtype, where the trace knows them (it does
  // for every tensor a traced forward makes); empty sizes and Undefined else.
  std::vector<int64_t> sizes;
  c10::ScalarType dtype = c10::ScalarType::Undefined;
  bool is_tensor() const { return dtype != c10::ScalarType::Undefined; }
};

// An activation applied to a convolution's output (after its residual add):
// the ones oneDNN can fuse as a post-op, with PyTorch's parameters.
struct Activation {
  enum class Kind { kNone, kRelu, kLeakyRelu, kSilu, kSigmoid, kClip };
  Kind kind = Kind::kNone;
  double alpha = 0, beta = 0;  // LeakyReLU: alpha = slope; clip (ReLU6, Hardtanh): [alpha, beta]
  bool none() const { return kind == Kind::kNone; }
  std::string name() const;    // "relu", "leaky_relu(0.1)", "silu", "sigmoid", "clip(0, 6)"
};

// The engine's own convolution: the bias a constant, the weight a constant
// or a value of the run (a tracker's template kernel, which only the
// depthwise correlation or ATen runs); the output optionally gets a residual
// added and then an activation.
struct ConvAttributes {
  std::vector<int64_t> stride, padding, dilation;
  int64_t groups = 1;
  bool residual = false;   // the node's fourth input is added to the output
  Activation activation;
};

struct Node {
  std::string kind;                      // "reskit::conv", or a LibTorch op's name
  std::vector<int64_t> inputs, outputs;  // value ids
  // The fallback's; none for the engine's own kinds. Mutable: LibTorch's
  // Operation::operator() is not const, though calling it changes nothing.
  mutable std::optional<torch::jit::Operation> operation;
  ConvAttributes conv;                   // for reskit::conv: inputs are (x, weight, bias[, residual])
};

struct Graph {
  std::vector<Value> values;
  std::vector<Node> nodes;
  std::vector<int64_t> inputs, outputs;

  int64_t add_constant(c10::IValue v, std::string type);
  const Value& value(int64_t id) const { return values[static_cast<size_t>(id)]; }
  // How many node inputs and graph outputs read each value.
  std::vector<int64_t> use_counts() const;
};

// The node that makes each value (-1: an input or a constant).
std::vector<int64_t> producers(const Graph& graph);

// A constant tensor's data let go of: it becomes a meta tensor of the same
// dtype and sizes (printing still shows them). For constants that the steps
// holding copies of them no longer need from the graph.
void release_constant(Graph& graph, int64_t value);

// Every constant tensor that no node reads and that is not an output, released.
void release_unused_constants(Graph& graph);

// The activation a node applies to its only tensor input (aten::relu,
// leaky_relu, silu, sigmoid, relu6, hardtanh and their in-place forms); none
// for anything else. Its scalars must be constants (they are, in a trace).
std::optional<Activation> activation_of(const Graph& graph, const Node& node);

// A reskit::conv's multiply-adds x 2, from its traced shapes (0 if unknown).
double conv_flop(const Graph& graph, const Node& node);

// The graph as text, one node a line: "%7 = reskit::conv[relu](%0, Float(64, 3, 7, 7), None, ...)";
// constants are shown in place, tensors by their shape.
std::string to_text(const Graph& graph);

// Nodes per kind, most first: "12 reskit::conv, 3 aten::add_, ...".
std::string kind_counts(const Graph& graph);

}  // namespace reskit::engine
