#pragma once
// A parameter-free module standing where the reference has one that inference
// never calls (mmaction2's loss_cls and data_preprocessor), so module names,
// the tree and print(model) match the reference. It has no forward.
#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

#include <string>

namespace reskit::layers {

class InertImpl : public torch::nn::Module {
 public:
  explicit InertImpl(std::string python_class) : torch::nn::Module(std::move(python_class)) {}
};
TORCH_MODULE(Inert);

}  // namespace reskit::layers
