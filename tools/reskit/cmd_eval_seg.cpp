// reskit eval-seg: pixel accuracy, the seed's accuracy and mIoU of a
// segmentation model (default encnet_r50) on a CamVid-layout split, as
// train-seg's validation measures them.
#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>

#include "model_command.h"
#include "reskit/core/error.h"
#include "reskit/core/progress.h"
#include "reskit/tasks/seg_data.h"
#include "reskit/tasks/seg_report.h"
#ifdef RESKIT_HAVE_OPENCV
#include "reskit/tasks/opencv/seg_loader.h"
#include "reskit/tasks/opencv/segmenter.h"
#endif

namespace reskit::cli {

int cmd_eval_seg(const Args& argv) {
  ModelCommand command(
      "eval-seg", "reskit eval-seg [MODEL] --weights W --data DIR [--size 224] [--split valid] [--names FILE]",
      "Evaluates a segmentation model (default encnet_r50) on a split of a CamVid-layout folder (DIR/valid_images/, "
      "DIR/valid_labels/, ...) as train-seg validates: images resized to size x size, labels nearest-neighbour, no "
      "augmentation. Pixel accuracy counts the pixels not ignored (label 255, or a label the model has no class "
      "for); the seed's accuracy divides by all pixels; IoU per class is TP / (TP + FP + FN), and mIoU their mean "
      "over the classes present in labels or predictions (mmseg's).",
      {{"data", "DIR", "the data set's folder"},
       {"split", "valid|train|test", "which split (default valid)"},
       {"size", "S", "the side images are resized to, a multiple of 8 (default 224)"},
       {"names", "FILE", "class names, one a line (default DIR/class_names.txt, else the indices)"},
       {"colours", "FILE", "the class colours of colour-coded labels (default DIR/class_colours.txt if present)"},
       {"batch-size", "N", "images per forward (default 8)"},
       {"workers", "N", "decoding threads (default 2)"},
       {"format", "text|json", "output format (default text)"},
       ModelCommand::engine_flag(),
       {"quiet", "", "no progress on stderr"}});
  if (!command.parse(argv, 1)) return 0;
  const ParsedArgs& args = command.args();
#ifndef RESKIT_HAVE_OPENCV
  throw Error("eval-seg: this build of reskit has no OpenCV (configure with -DRESKIT_WITH_OPENCV=ON)");
#else
  std::vector<std::string> rest;
  const std::string model_name = command.model_before_inputs("encnet_r50", rest);
  if (!rest.empty()) throw Error("eval-seg: unexpected argument '" + rest[0] + "' (the data comes with --data DIR)");
  if (!args.has("data")) throw Error("eval-seg: --data DIR is required");
  const std::string dir = args.get("data");
  const std::string split = command.command().choice(args, "split", {"valid", "train", "test"});
  const std::string format = command.command().choice(args, "format", {"text", "json"});
  tasks::SegLoaderOptions options;
  options.size = args.get_int("size", 224);
  tasks::check_seg_size(options.size);
  options.batch_size = args.get_int("batch-size", 8);
  if (options.batch_size < 1 || options.batch_size > 4096) throw Error("eval-seg: --batch-size must be within 1..4096");
  options.workers = args.get_int("workers", 2);
  if (options.workers < 1 || options.workers > 256) throw Error("eval-seg: --workers must be within 1..256");
  options.train = false;
  const std::filesystem::path root(dir);
  const std::string colours_file = args.get("colours", (root / "class_colours.txt").string());
  if (args.has("colours") || std::filesystem::is_regular_file(colours_file))
    options.colours = tasks::read_class_colours(colours_file);
  const std::string names_file = args.get("names", (root / "class_names.txt").string());
  const std::vector<std::string> names = args.has("names") || std::filesystem::is_regular_file(names_file)
                                             ? tasks::read_class_names(names_file)
                                             : std::vector<std::string>{};
  // The split is listed before the model is built: a wrong folder fails at once.
  std::vector<tasks::SegSample> samples = tasks::read_seg_split(dir, split);
  const size_t count = samples.size();
  if (!args.has("weights"))
    std::cerr << "eval-seg: no --weights: the model keeps its seeded random weights\n";

  const tasks::PreparedModel prepared = command.prepare(model_name);
  tasks::SegLoader loader(std::move(samples), options);
  Progress progress("eval-seg " + split, loader.batches_per_epoch(), progress_style(args.has("quiet")));
  const tasks::SegEvaluation result =
      tasks::evaluate_segmentation(prepared.model, prepared.device, loader, 0, &progress, command.engine());
  progress.finish();

  if (format == "json") {
    nlohmann::json j = nlohmann::json::parse(tasks::seg_metrics_json(result.confusion, names));
    j["data"] = dir;
    j["split"] = split;
    j["images"] = result.images;
    j["size"] = options.size;
    j["loss"] = std::isfinite(result.loss) ? nlohmann::json(result.loss) : nlohmann::json(nullptr);
    std::cout << j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << '\n';
    return 0;
  }
  char line[256];
  std::cout << "eval-seg on " << dir << " (" << split << ", " << count << (count == 1 ? " image" : " images")
            << ", size " << options.size << ")\n";
  std::snprintf(line, sizeof line, "pixel accuracy: %.4f\nseed accuracy:  %.4f\nmIoU:           %.4f\nloss:           %.4f\n",
                result.confusion.pixel_accuracy(), result.confusion.seed_accuracy(), result.confusion.mean_iou(),
                result.loss);
  std::cout << line << tasks::class_iou_table(result.confusion, names);
  return 0;
#endif
}

}  // namespace reskit::cli
