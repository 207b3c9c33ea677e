// libFuzzer target: the .npy reader. Any input gives a tensor or a
// reskit::Error (anything else escapes and is reported), and a tensor never
// holds more bytes than its input (float64 data is read, then halved).
#include <ATen/ATen.h>

#include <cstdlib>
#include <string>

#include "reskit/core/error.h"
#include "reskit/io/npy.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  try {
    const at::Tensor t = reskit::io::parse_npy(bytes, "fuzz");
    if (static_cast<size_t>(t.numel()) * sizeof(float) > size) std::abort();
  } catch (const reskit::Error&) {
  }
  return 0;
}
