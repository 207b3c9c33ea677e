// libFuzzer target: the VOC annotation reader. Any input gives objects or a
// reskit::Error, and never more objects than its bytes can spell out (an
// object needs at least its tags: well over 64 bytes).
#include <cstdlib>
#include <string>

#include "reskit/core/error.h"
#include "reskit/io/voc_annotation.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string xml(reinterpret_cast<const char*>(data), size);
  try {
    const auto objects = reskit::io::parse_voc_annotation(xml, "fuzz");
    if (objects.size() * 64 > size) std::abort();
  } catch (const reskit::Error&) {
  }
  return 0;
}
