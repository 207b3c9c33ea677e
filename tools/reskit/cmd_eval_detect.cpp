// reskit eval-detect: VOC07 mAP of a detector on a VOC-layout folder, with
// the post-processing RFBNet's test_RFB.py evaluates with.
#include <nlohmann/json.hpp>

#include <cstdio>
#include <filesystem>
#include <iostream>

#include "detection_flags.h"
#include "model_command.h"
#include "reskit/core/error.h"
#include "reskit/core/progress.h"
#include "reskit/tasks/voc_eval.h"
#ifdef RESKIT_HAVE_OPENCV
#include "reskit/tasks/opencv/detector.h"
#endif

namespace reskit::cli {

int cmd_eval_detect(const Args& argv) {
  std::vector<FlagSpec> flags = detection_flags();
  flags.insert(flags.end(), {{"format", "table|json", "output format (default table)"},
                             ModelCommand::engine_flag(),
                             {"quiet", "", "no progress on stderr"}});
  ModelCommand command("eval-detect", "reskit eval-detect [MODEL] --weights W DATA_DIR",
                       "Per-class AP and mAP (VOC07 11-point, difficult objects ignored) of a detector (default "
                       "rfbnet) on DATA_DIR/JPEGImages, Annotations and ImageSets/Main/test.txt; detections as "
                       "test_RFB.py makes them (threshold 0.01, NMS 0.45, at most 200 per image).",
                       flags);
  if (!command.parse(argv, 2)) return 0;
  const ParsedArgs& args = command.args();
#ifndef RESKIT_HAVE_OPENCV
  throw Error("eval-detect: this build of reskit has no OpenCV (configure with -DRESKIT_WITH_OPENCV=ON)");
#else
  std::string model_name = "rfbnet", data_dir;
  if (args.positional.size() == 2) {
    model_name = args.positional[0];
    data_dir = args.positional[1];
  } else if (args.positional.size() == 1) {
    data_dir = args.positional[0];
    if (args.has("weights") && std::filesystem::exists(tasks::sidecar_path(args.get("weights")))) model_name = "";
  } else {
    throw Error("eval-detect: no DATA_DIR given");
  }
  const std::string format = command.command().choice(args, "format", {"table", "json"});
  const tasks::VocDataset data = tasks::open_voc_dataset(data_dir);
  // Every annotation is read before the model runs: a broken one fails at once.
  std::vector<std::vector<io::VocObject>> truth;
  for (const std::string& id : data.ids) {
    truth.push_back(io::read_voc_annotation(data.annotation_path(id)));
    if (!std::filesystem::is_regular_file(data.image_path(id)))
      throw Error("eval-detect: image '" + data.image_path(id) + "' listed in test.txt does not exist");
  }

  const auto dataset = detection_dataset(args, command.command());
  if (dataset && *dataset != tasks::DetectionDataset::kVoc)
    throw Error("eval-detect: VOC-layout folders are evaluated with --dataset voc");
  const tasks::PreparedModel prepared =
      command.prepare(detection_request(command.request(model_name), args, command.command()));
  const tasks::Detector detector(prepared.model, prepared.device, tasks::DetectionDataset::kVoc, command.engine());
  const auto& classes = tasks::voc_classes();
  if (detector.num_classes() != static_cast<int64_t>(classes.size()) + 1)
    throw Error("eval-detect: a VOC evaluation needs 21 classes (background + 20); the model has " +
                std::to_string(detector.num_classes()));

  tasks::PostprocessOptions post;
  post.threshold = 0.01;
  std::vector<std::vector<tasks::ClassDetection>> by_class(classes.size());
  Progress progress("eval-detect", static_cast<int64_t>(data.ids.size()), progress_style(args.has("quiet")));
  for (size_t i = 0; i < data.ids.size(); ++i) {
    for (const tasks::Detection& d : detector.detect(data.image_path(data.ids[i]), post))
      by_class[d.cls - 1].push_back({i, d.score, d.box});
    progress.step(data.ids[i]);
  }
  progress.finish();

  nlohmann::json aps = nlohmann::json::object();
  double sum = 0;
  for (size_t c = 0; c < classes.size(); ++c) {
    const double ap = tasks::voc07_average_precision(by_class[c], truth, classes[c]);
    aps[classes[c]] = ap;
    sum += ap;
  }
  const double map = sum / static_cast<double>(classes.size());
  if (format == "json") {
    std::cout << nlohmann::json({{"images", data.ids.size()}, {"ap", aps}, {"mAP", map}}).dump(2) << '\n';
    return 0;
  }
  std::cout << "VOC07 11-point AP on " << data.ids.size() << " images of " << data_dir << '\n';
  for (size_t c = 0; c < classes.size(); ++c) {
    char line[80];
    std::snprintf(line, sizeof line, "  %-12s %.4f\n", classes[c].c_str(), aps[classes[c]].get<double>());
    std::cout << line;
  }
  char line[80];
  std::snprintf(line, sizeof line, "  %-12s %.4f\n", "mAP", map);
  std::cout << line;
  return 0;
#endif
}

}  // namespace reskit::cli
