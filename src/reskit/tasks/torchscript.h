#pragma once
// LibTorch's TorchScript path for a reskit model, the baseline `reskit bench`
// sets beside eager: the entry point traced (torch.jit.trace from C++), frozen
// and passed through optimize_for_inference, which folds BatchNorm into the
// convolutions and runs them on oneDNN with prepacked weights.
#include <torch/csrc/jit/api/module.h>

#include <vector>

#include "reskit/engine/trace.h"

namespace reskit::tasks {

using TensorFunction = engine::TensorFunction;

class TorchScriptModel {
 public:
  // Traces `forward` (which runs `root`, switched to eval mode) on `example`
  // inputs; the result is specialised to their shapes, dtype and device, as
  // any trace is.
  TorchScriptModel(torch::nn::Module& root, const TensorFunction& forward, const std::vector<at::Tensor>& example);
  std::vector<at::Tensor> run(const std::vector<at::Tensor>& inputs);

 private:
  torch::jit::Module module_;
};

}  // namespace reskit::tasks
