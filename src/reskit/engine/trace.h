#pragma once
// LibTorch's JIT tracer on a function of tensors that runs a torch::nn
// module: what the TorchScript baseline and the engine's capture share.
// The module is switched to eval mode and traced under no-grad; its
// parameters become the graph's constants (the tracer sees them as tensors
// that are not inputs).
#include <torch/csrc/jit/api/module.h>
#include <torch/csrc/jit/ir/ir.h>
#include <torch/nn/module.h>

#include <functional>
#include <memory>
#include <vector>

namespace reskit::engine {

using TensorFunction = std::function<std::vector<at::Tensor>(const std::vector<at::Tensor>&)>;

// The graph of `forward` on `example`: its inputs are the example tensors,
// its one output the tuple of forward's outputs. With `self`, the graph
// takes that module as a first input, so that it can become its method.
std::shared_ptr<torch::jit::Graph> trace_graph(torch::nn::Module& root, const TensorFunction& forward,
                                               const std::vector<at::Tensor>& example,
                                               torch::jit::Module* self = nullptr);

// A TorchScript module whose forward is that graph.
torch::jit::Module trace_module(torch::nn::Module& root, const TensorFunction& forward,
                                const std::vector<at::Tensor>& example);

}  // namespace reskit::engine
