#include "reskit/tasks/torchscript.h"

#include <ATen/core/grad_mode.h>

#include "reskit/engine/trace.h"

namespace reskit::tasks {

TorchScriptModel::TorchScriptModel(torch::nn::Module& root, const TensorFunction& forward,
                                   const std::vector<at::Tensor>& example) {
  torch::jit::Module traced = engine::trace_module(root, forward, example);
  traced.eval();
  module_ = torch::jit::optimize_for_inference(traced);
}

std::vector<at::Tensor> TorchScriptModel::run(const std::vector<at::Tensor>& inputs) {
  at::NoGradGuard no_grad;
  const c10::IValue out = module_.forward(std::vector<c10::IValue>(inputs.begin(), inputs.end()));
  std::vector<at::Tensor> outputs;
  for (const c10::IValue& v : out.toTupleRef().elements()) outputs.push_back(v.toTensor());
  return outputs;
}

}  // namespace reskit::tasks
