// libFuzzer target: segmentation data's readers of outside input. Any input
// gives pixels or a reskit::Error from the PNG decoder, whose allocation
// never exceeds what deflate can expand the input to (1032:1, times 8 for
// 1-bit samples unpacked to bytes, twice for 16-bit ones); and names or
// colours or an error from the class files' parsers, never more classes
// than lines the input spells out.
#include <cstdlib>
#include <string>

#include "reskit/core/error.h"
#include "reskit/io/png.h"
#include "reskit/tasks/seg_data.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  reskit::io::PngReadCost cost;
  try {
    const reskit::io::PngPixels p = reskit::io::decode_png(bytes, "fuzz", &cost);
    if (p.samples.size() + 2 * p.wide.size() > 2 * cost.decoded_bytes) std::abort();
  } catch (const reskit::Error&) {
  }
  if (cost.file_bytes != size || cost.decoded_bytes > 8 * (1032 * cost.file_bytes + 4096)) std::abort();
  try {
    if (reskit::tasks::parse_class_names(bytes, "fuzz").size() * 2 > size + 1) std::abort();
  } catch (const reskit::Error&) {
  }
  try {
    if (reskit::tasks::parse_class_colours(bytes, "fuzz").size() * 6 > size + 1) std::abort();
  } catch (const reskit::Error&) {
  }
  return 0;
}
