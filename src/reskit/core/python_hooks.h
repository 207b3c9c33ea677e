#pragma once
// What Python shows of a reskit module that its LibTorch object cannot tell.
// `reskit print` and `reskit summary` know LibTorch's built-in modules
// (tasks/python_view.cpp); a reskit module or layer whose Python twin shows
// more (mmcv's ConvModule, mmaction2's ResNet3d) derives from this as well
// as from torch::nn::Module, and answers here. Generic code asks; it never
// names a model.
#include <torch/nn/module.h>

#include <optional>
#include <string>

namespace reskit {

class PythonHooks {
 public:
  virtual ~PythonHooks() = default;

  // Python's extra_repr() of this module; "" for none.
  virtual std::string python_extra_repr() const { return ""; }

  // What torchinfo shows in its "Kernel Shape" column: the module's
  // `kernel_size` attribute as Python holds it ("[3, 3]", "3"); "" for none.
  virtual std::string python_kernel_size() const { return ""; }

  // The extra_repr of a child whose Python state its LibTorch module does not
  // hold (mmcv builds SiLU(inplace=True); mmaction2 gives a pool tuples where
  // LibTorch keeps expanded arrays); nullopt: the child's own.
  virtual std::optional<std::string> python_child_extra_repr(const torch::nn::Module& child) const {
    return std::nullopt;
  }
};

}  // namespace reskit
