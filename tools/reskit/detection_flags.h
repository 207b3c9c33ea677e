#pragma once
// What `reskit detect` and `reskit eval-detect` share: --size and --dataset
// turned into the model's options (before the user's --set, which wins), and
// the dataset the priors and class names follow.
#include <optional>
#include <string>

#include "cli_args.h"
#include "reskit/tasks/detection.h"
#include "reskit/tasks/model_setup.h"

namespace reskit::cli {

std::vector<FlagSpec> detection_flags();

// The request with --size N as `size=N` and --dataset coco as
// `num_classes=81`, placed before the user's --set.
tasks::ModelRequest detection_request(tasks::ModelRequest request, const ParsedArgs& args, const Command& command);

// --dataset when given; nullopt lets the model's classes decide.
std::optional<tasks::DetectionDataset> detection_dataset(const ParsedArgs& args, const Command& command);

}  // namespace reskit::cli
