#pragma once
// What Python's print(model) shows for the reference implementation:
// torch.nn.Module.__repr__ (each module's extra_repr, then one
// `(name): child` line per child, indented by two) over reskit's modules.
// LibTorch's built-in modules print under their Python names with Python's
// extra_repr; reskit's own modules print their name(), which they set to the
// Python class name. A new built-in type is one entry in module_repr.cpp.
#include <torch/nn/module.h>

#include <string>

namespace reskit::tasks {

// print(model) without the trailing newline that print adds.
std::string python_repr(const torch::nn::Module& module);

// type(module).__name__ in the reference: "Conv2d", "Sequential", "ResidualUnit".
std::string python_class_name(const torch::nn::Module& module);

// Python's repr(float): the shortest digits that round-trip, fixed notation
// for exponents -4..15 (always with a '.': `2.0`), otherwise `1e-05` style.
std::string python_float_repr(double value);

}  // namespace reskit::tasks
