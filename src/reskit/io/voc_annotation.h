#pragma once
// PASCAL VOC annotations (Annotations/*.xml), read as the RFBNet code base's
// voc_eval.parse_rec does: every <object> with its name, difficult flag and
// <bndbox> corners (pixels, 1-based, inclusive). A file that is not such XML
// is one error naming it; work is bounded by the file's size.
#include <cstdint>
#include <string>
#include <vector>

namespace reskit::io {

struct VocObject {
  std::string name;
  bool difficult = false;
  double xmin = 0, ymin = 0, xmax = 0, ymax = 0;
};

// Parses XML text; `source` names it in errors.
std::vector<VocObject> parse_voc_annotation(const std::string& xml, const std::string& source);
// Reads and parses a file (at most 1 MiB: VOC's are a few KB).
std::vector<VocObject> read_voc_annotation(const std::string& path);

}  // namespace reskit::io
