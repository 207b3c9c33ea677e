#pragma once
// A module's state dict, and loading one into a module by name, with the
// report of what did not match.
#include <torch/nn/module.h>

#include <string>
#include <vector>

#include "reskit/io/checkpoint.h"

namespace reskit::io {

// The module's parameters and buffers, in registration order.
StateDict state_dict_of(const torch::nn::Module& module);

struct LoadReport {
  std::vector<std::string> missing;     // in the module, not in the file
  std::vector<std::string> unexpected;  // in the file, not in the module
  std::vector<std::string> mismatched;  // "key: file [a, b] vs model [c, d]"
  std::vector<std::string> loaded;
};

// Copies matching tensors into the module. A missing `num_batches_tracked`
// is tolerated. strict: any missing, unexpected or mismatched key throws one
// error listing them all, and nothing is changed; non-strict: loads what
// matches and reports the rest. Tensors are converted to the model's dtype.
// The strict error is one line, naming source_name (the file) and the
// module's name(), at most 10 keys of each kind:
//   checkpoint 'x.pth' does not match resnet50: missing keys: fc.weight,
//   fc.bias; unexpected keys: foo; wrong shapes: conv1.weight: file
//   [64, 3, 3, 3] vs model [64, 3, 7, 7]
LoadReport load_state_dict(torch::nn::Module& module, const StateDict& state, bool strict,
                           const std::string& source_name);
// The same, dropping each of the state's tensors once it is copied: a file's
// tensors (mapped, see read_state_dict) leave memory one by one, so that the
// process never holds two whole copies of the weights.
LoadReport load_state_dict(torch::nn::Module& module, StateDict&& state, bool strict, const std::string& source_name);

}  // namespace reskit::io
