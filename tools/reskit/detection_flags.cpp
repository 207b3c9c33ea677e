#include "detection_flags.h"

#include "reskit/core/error.h"

namespace reskit::cli {

std::vector<FlagSpec> detection_flags() {
  return {{"size", "300|512", "input size: sets the model's size (default: the model's, 300)"},
          {"dataset", "voc|coco", "prior boxes and class names (default: coco for an 81-class model, else voc; coco also "
                                   "sets num_classes=81)"}};
}

std::optional<tasks::DetectionDataset> detection_dataset(const ParsedArgs& args, const Command& command) {
  if (!args.has("dataset")) return std::nullopt;
  return tasks::parse_detection_dataset(command.choice(args, "dataset", {"voc", "coco"}));
}

tasks::ModelRequest detection_request(tasks::ModelRequest request, const ParsedArgs& args, const Command& command) {
  std::vector<std::string> sets;
  if (args.has("size")) {
    const int64_t size = args.get_int("size", 300);
    if (size != 300 && size != 512) throw Error(command.name() + ": --size must be 300 or 512, got " + args.get("size"));
    sets.push_back("size=" + std::to_string(size));
  }
  if (detection_dataset(args, command) == tasks::DetectionDataset::kCoco) sets.push_back("num_classes=81");
  request.sets.insert(request.sets.begin(), sets.begin(), sets.end());
  return request;
}

}  // namespace reskit::cli
