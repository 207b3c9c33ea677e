#pragma once
// What the Python twin of a module shows, for `reskit print` and `reskit
// summary`: its class name, its extra_repr() and torchinfo's kernel column.
// LibTorch's built-in modules are described here, by type; reskit's own
// modules name themselves (torch::nn::Module's name) and answer the rest
// through core/python_hooks.h. Nothing here knows a model.
#include <torch/nn/module.h>

#include <string>

namespace reskit::tasks {

// type(module).__name__ in the reference: "Conv2d", "Sequential", "ResidualUnit".
std::string python_class_name(const torch::nn::Module& module);

// module.extra_repr() in the reference; `parent` (null for the root) may
// know what the module's LibTorch object does not.
std::string python_extra_repr(const torch::nn::Module& module, const torch::nn::Module* parent);

// torchinfo's LayerInfo.get_kernel_size as its table prints it: "[3, 3]"
// for convolutions (a tuple), pooling as written ("3"); "" for none.
std::string python_kernel_size(const torch::nn::Module& module);

}  // namespace reskit::tasks
