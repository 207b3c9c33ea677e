// libFuzzer target: the checkpoint reader on a file holding the input (zip
// container, legacy stream, pickles, tensor records). Any input gives a
// state dict or a reskit::Error, and what reading cost is bounded by the
// file's size: values made, bytes copied, bytes hashed, storage bytes.
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <string>

#include "reskit/core/error.h"
#include "reskit/io/checkpoint.h"

namespace {

const std::string& scratch_file() {
  static const std::string path = "/dev/shm/reskit_fuzz_checkpoint_" + std::to_string(::getpid()) + ".pt";
  return path;
}

void check(bool bound) {
  if (!bound) std::abort();  // libFuzzer keeps the input that broke a bound
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::ofstream(scratch_file(), std::ios::binary | std::ios::trunc)
      .write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  reskit::io::ReadCost cost;
  try {
    reskit::io::read_state_dict(scratch_file(), &cost);
  } catch (const reskit::Error&) {
  }
  const uint64_t n = size;
  check(cost.pickle_values <= n + 512);     // a few per opcode byte at most; 256 small ints are shared
  check(cost.bytes_copied <= 3 * n + 64);   // the file or its pickle once, its strings once
  check(cost.bytes_hashed <= 2 * n);        // each dict key once, and once more to find its twin
  check(cost.storage_bytes <= n);           // tensors hold no more than the file has
  return 0;
}
