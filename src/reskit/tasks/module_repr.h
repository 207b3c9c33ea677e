#pragma once
// What Python's print(model) shows for the reference implementation:
// torch.nn.Module.__repr__ (each module's extra_repr, then one
// `(name): child` line per child, indented by two) over reskit's modules,
// with the class names and extra_repr of tasks/python_view.h.
#include <torch/nn/module.h>

#include <string>

namespace reskit::tasks {

// print(model) without the trailing newline that print adds.
std::string python_repr(const torch::nn::Module& module);

}  // namespace reskit::tasks
