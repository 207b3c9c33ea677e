#pragma once
// PyTorch checkpoints without Python: reads what torch.save(state_dict)
// writes (zip container and the legacy pickle stream) and writes what
// torch.load reads back. Matching one to a module is io/state_dict.h.
#include <ATen/core/Tensor.h>

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
// A zip archive's tensors map the file's bytes (copy-on-write) rather than
// copy them: memory is only what is read, and goes with the tensors.
//
// What reading cost is bounded by the file's size, and `cost` (when given)
// receives it, also when reading fails: the tests and fuzz targets check it.
struct ReadCost {
  uint64_t file_bytes = 0;
  size_t pickle_values = 0, bytes_copied = 0, bytes_hashed = 0;  // summed over the file's pickles
  uint64_t storage_bytes = 0;                                     // tensor data read or allocated
};
StateDict read_state_dict(const std::string& path, ReadCost* cost = nullptr);

// Writes a plain state dict (Python's torch.load returns a dict of tensors),
// atomically: the file appears whole or not at all.
void save_state_dict(const std::string& path, const StateDict& state);

}  // namespace reskit::io
