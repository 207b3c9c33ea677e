#pragma once
// nn.Sequential as PyTorch has it (children "0", "1", ...), calling each
// child through the module-call observer so summaries see every layer.
#include <torch/nn/module.h>
#include <torch/nn/modules/container/any.h>
#include <torch/nn/pimpl.h>

#include <string>
#include <vector>

namespace reskit::layers {

class SequentialImpl : public torch::nn::Module {
 public:
  SequentialImpl() : torch::nn::Module("Sequential") {}

  template <typename ModuleHolder>
  void push_back(ModuleHolder holder) {
    register_module(std::to_string(items_.size()), holder.ptr());
    items_.emplace_back(std::move(holder));
  }

  at::Tensor forward(at::Tensor x);
  size_t size() const { return items_.size(); }

 private:
  std::vector<torch::nn::AnyModule> items_;
};
TORCH_MODULE(Sequential);

// Calls a type-erased child through the module-call observer.
at::Tensor call_any(torch::nn::AnyModule& module, at::Tensor x);

// Builds a Sequential from holders: make_sequential(conv, bn).
template <typename... Holders>
Sequential make_sequential(Holders... holders) {
  Sequential seq;
  (seq->push_back(std::move(holders)), ...);
  return seq;
}

}  // namespace reskit::layers
