// libFuzzer target: the readers of tracking datasets and results
// (tasks/track_dataset.h, tasks/track_eval.h). Any input gives boxes or a
// reskit::Error, never more boxes than its lines; the first byte picks the
// reader (groundtruth text, result text, pysot's dataset JSON, a tracker's
// config.yaml).
#include <algorithm>
#include <cstdlib>
#include <string>

#include "reskit/core/error.h"
#include "reskit/io/yaml_tree.h"
#include "reskit/tasks/track_dataset.h"
#include "reskit/tasks/track_eval.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string text(reinterpret_cast<const char*>(data) + 1, size - 1);
  const size_t lines = std::count(text.begin(), text.end(), '\n') + 1;
  try {
    switch (data[0] % 4) {
      case 0:
        if (reskit::tasks::parse_ground_truth(text, "fuzz").size() > lines) std::abort();
        break;
      case 1:
        if (reskit::tasks::parse_result(text, "fuzz").size() > lines) std::abort();
        break;
      case 3:
        reskit::io::parse_yaml_tree(text, "fuzz");
        break;
      default:  // images are looked up under a root that holds none: names are checked, then refused
        reskit::tasks::parse_dataset_json(text, "fuzz", "/nonexistent-fuzz-root");
    }
  } catch (const reskit::Error&) {
  }
  return 0;
}
