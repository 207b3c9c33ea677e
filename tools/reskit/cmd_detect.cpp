// reskit detect: boxes, classes and scores for images, as RFBNet's test code
// computes them, printed and drawn.
#include <nlohmann/json.hpp>

#include <cstdio>
#include <filesystem>
#include <iostream>
#include <cctype>
#include <set>

#include "detection_flags.h"
#include "model_command.h"
#include "reskit/core/error.h"
#include "reskit/core/progress.h"
#ifdef RESKIT_HAVE_OPENCV
#include "reskit/io/opencv/detection_image.h"
#include "reskit/tasks/opencv/detector.h"
#endif

namespace reskit::cli {
namespace {

#ifdef RESKIT_HAVE_OPENCV
// DIR/<image's file name>, made unique when two inputs share a name; an
// extension OpenCV may not write (a .gif read in) becomes .png.
std::string output_path(const std::string& dir, const std::string& image, std::set<std::string>& used) {
  const std::filesystem::path p(image);
  std::string ext = p.extension().string();
  for (char& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  static const std::set<std::string> writable = {".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp"};
  if (!writable.count(ext)) ext = ".png";
  std::string name = p.stem().string() + ext;
  for (int k = 2; !used.insert(name).second; ++k) name = p.stem().string() + "_" + std::to_string(k) + ext;
  return (std::filesystem::path(dir) / name).string();
}
#endif

}  // namespace

int cmd_detect(const Args& argv) {
  std::vector<FlagSpec> flags = detection_flags();
  flags.insert(flags.end(),
               {{"labels", "FILE", "class names, one per class index, background first (default: opencv-doc's lists)"},
                {"threshold", "T", "a class's scores above T are detections (default 0.5)"},
                {"nms", "IOU", "NMS drops boxes overlapping a better one by more (default 0.45)"},
                {"max-detections", "N", "per image, keep boxes scoring at least the N-th score (default 200; 0: all)"},
                {"out", "DIR", "write each image with its boxes drawn into DIR"},
                {"format", "table|json", "output format (default table)"},
                ModelCommand::engine_flag(),
                {"quiet", "", "no progress on stderr"}});
  ModelCommand command("detect", "reskit detect [MODEL] --weights W [--size 300|512] [--dataset voc|coco] IMAGE...",
                       "Objects in images with an SSD-style detector (default rfbnet): resize to size x size, BGR "
                       "minus the means 104/117/123, decode against the prior boxes, per-class NMS.",
                       flags);
  if (!command.parse(argv, 1 << 20)) return 0;
  const ParsedArgs& args = command.args();
#ifndef RESKIT_HAVE_OPENCV
  throw Error("detect: this build of reskit has no OpenCV (configure with -DRESKIT_WITH_OPENCV=ON)");
#else
  // MODEL is a registry name; without one, the sidecar's model or rfbnet.
  std::vector<std::string> images;
  const std::string model_name = command.model_before_inputs("rfbnet", images);
  if (images.empty()) throw Error("detect: no images given");
  for (const std::string& image : images)  // before any work: a typo fails at once
    if (!std::filesystem::is_regular_file(image)) throw Error("image '" + image + "' does not exist");
  const std::string format = command.command().choice(args, "format", {"table", "json"});
  tasks::PostprocessOptions post;
  post.threshold = args.get_double("threshold", 0.5);
  post.nms_iou = args.get_double("nms", 0.45);
  post.max_detections = args.get_int("max-detections", 200);
  if (post.threshold < 0 || post.threshold > 1) throw Error("detect: --threshold must be within [0, 1]");
  if (post.nms_iou < 0 || post.nms_iou > 1) throw Error("detect: --nms must be within [0, 1]");
  if (post.max_detections < 0) throw Error("detect: --max-detections must be at least 0 (0: no cut)");
  const tasks::PreparedModel prepared =
      command.prepare(detection_request(command.request(model_name), args, command.command()));
  const tasks::Detector detector(prepared.model, prepared.device, detection_dataset(args, command.command()),
                                 command.engine());
  const std::vector<std::string> labels =
      tasks::detection_labels(detector.dataset(), detector.num_classes(), args.get("labels"));
  const std::string out_dir = args.get("out");
  if (args.has("out")) {
    std::error_code ec;
    std::filesystem::create_directories(out_dir, ec);
    if (!std::filesystem::is_directory(out_dir)) throw Error("detect: cannot create --out directory '" + out_dir + "'");
  }

  nlohmann::json results = nlohmann::json::array();
  std::set<std::string> used_names;
  Progress progress("detect", static_cast<int64_t>(images.size()), progress_style(args.has("quiet")));
  for (const std::string& image : images) {
    const std::vector<tasks::Detection> found = detector.detect(image, post);
    progress.step(image);
    if (!out_dir.empty()) {
      std::vector<io::LabelledBox> drawn;
      for (const tasks::Detection& d : found) {
        char text[160];
        std::snprintf(text, sizeof text, "%s %.2f", labels[d.cls].c_str(), d.score);
        drawn.push_back({d.box, text, d.cls});
      }
      io::write_labelled_image(image, output_path(out_dir, image, used_names), drawn);
    }
    if (format == "json") {
      nlohmann::json dets = nlohmann::json::array();
      for (const tasks::Detection& d : found)
        dets.push_back({{"class", d.cls}, {"label", labels[d.cls]}, {"score", d.score},
                        {"box", {d.box[0], d.box[1], d.box[2], d.box[3]}}});
      results.push_back({{"image", image}, {"detections", dets}});
      continue;
    }
    std::cout << image << ": " << found.size() << (found.size() == 1 ? " detection\n" : " detections\n");
    for (const tasks::Detection& d : found) {
      char line[200];
      std::snprintf(line, sizeof line, "  %-16s %.3f  [%.1f, %.1f, %.1f, %.1f]\n", labels[d.cls].c_str(), d.score,
                    d.box[0], d.box[1], d.box[2], d.box[3]);
      std::cout << line;
    }
  }
  progress.finish();
  if (format == "json") std::cout << results.dump(2) << '\n';
  return 0;
#endif
}

}  // namespace reskit::cli
