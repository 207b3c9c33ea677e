#pragma once
// PyTorch checkpoints without Python: reads what torch.save(state_dict)
// writes (zip container and the legacy pickle stream), writes what
// torch.load reads back, and loads a state dict into a module by name.
#include <torch/nn/module.h>

#include <string>
#include <utility>
#include <vector>

namespace reskit::io {

// Entries in the file's order. Keys are full parameter/buffer names.
using StateDict = std::vector<std::pair<std::string, at::Tensor>>;

// Reads a state dict from a file written by Python's torch.save in the zip
// format (PyTorch >= 1.6) or the legacy non-zip format, or by save_state_dict.
// A dict holding it under "state_dict" or "model" is unwrapped and a
// "module." prefix (DataParallel) is stripped. Never runs code from the file:
// only the globals a state dict needs are accepted, and every size is checked
// against the file. Throws reskit::Error naming the file on any problem.
StateDict read_state_dict(const std::string& path);

// Writes a plain state dict (Python's torch.load returns a dict of tensors),
// atomically: the file appears whole or not at all.
void save_state_dict(const std::string& path, const StateDict& state);

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

}  // namespace reskit::io
