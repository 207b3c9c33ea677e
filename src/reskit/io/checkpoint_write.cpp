#include <c10/util/Exception.h>
#include <torch/csrc/jit/serialization/pickle.h>

#include <ATen/core/Dict.h>

#include "reskit/core/error.h"
#include "reskit/io/atomic_file.h"
#include "reskit/io/checkpoint.h"

namespace reskit::io {
namespace {

std::string first_line(const std::string& s) { return s.substr(0, s.find('\n')); }

}  // namespace

void save_state_dict(const std::string& path, const StateDict& state) {
  c10::Dict<std::string, at::Tensor> dict;
  for (const auto& [key, tensor] : state) {
    if (!tensor.defined()) throw Error("cannot write '" + path + "': tensor '" + key + "' is undefined");
    if (dict.contains(key)) throw Error("cannot write '" + path + "': key '" + key + "' appears twice");
    // Detached: torch.load would otherwise see requires_grad tensors.
    dict.insert(key, tensor.detach());
  }
  std::vector<char> bytes;
  try {
    bytes = torch::jit::pickle_save(dict);  // also tags the dict: torch.jit._pickle.restore_type_tag
  } catch (const c10::Error& e) {
    throw Error("cannot write '" + path + "': " + first_line(e.what_without_backtrace()));
  }
  AtomicFile file(path);
  file.stream().write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  file.commit();
}

}  // namespace reskit::io
