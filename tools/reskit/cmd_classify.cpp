// reskit classify: ImageNet top-5 for images, with torchvision's preprocessing.
#include <nlohmann/json.hpp>

#include <cstdio>
#include <fstream>
#include <iostream>

#include "model_command.h"
#include "reskit/core/error.h"
#include "reskit/tasks/classification.h"
#ifdef RESKIT_HAVE_OPENCV
#include "reskit/io/opencv/image.h"
#endif

namespace reskit::cli {

int cmd_classify(const Args& argv) {
  ModelCommand command("classify", "reskit classify [MODEL] --weights W [--set ...] [--labels FILE] IMAGE...",
                       "Top-5 ImageNet classes per image: resize, centre crop 224, RGB, mean/std.",
                       {{"labels", "FILE", "class names, one per line (default: ImageNet's)"},
                        {"resize", "N", "short side before the 224 centre crop (default 256; 232 for V2 weights)"},
                        {"top", "K", "how many classes to list (default 5)"},
                        {"format", "table|json", "output format (default table)"},
                        ModelCommand::engine_flag()});
  if (!command.parse(argv, 1 << 20)) return 0;
  const ParsedArgs& args = command.args();
#ifndef RESKIT_HAVE_OPENCV
  throw Error("classify: this build of reskit has no OpenCV (configure with -DRESKIT_WITH_OPENCV=ON)");
#else
  // MODEL is optional when the weights carry a sidecar: a first positional
  // that is not a file is the model name.
  std::vector<std::string> images = args.positional;
  std::string model_name;
  if (!images.empty() && !std::ifstream(images[0]).good()) {
    model_name = images[0];
    images.erase(images.begin());
  }
  if (images.empty()) throw Error("classify: no images given");
  const std::string format = command.command().choice(args, "format", {"table", "json"});
  const int64_t resize = args.get_int("resize", 256);
  const int64_t top = args.get_int("top", 5);
  if (top < 1) throw Error("classify: --top must be at least 1");

  const tasks::PreparedModel prepared = command.prepare(model_name);
  const std::vector<std::string> labels = tasks::load_labels(args.get("labels"));
  const tasks::EngineRunner forward(prepared.model, command.engine());
  nlohmann::json results = nlohmann::json::array();
  for (const std::string& image : images) {
    at::Tensor x = io::load_imagenet_image(image, resize, 224).to(prepared.device);
    const at::Tensor logits = forward({x}).at(0);
    std::vector<tasks::Prediction> best = tasks::top_k(logits[0], top, labels);
    if (format == "json") {
      nlohmann::json preds = nlohmann::json::array();
      for (const auto& p : best) preds.push_back({{"index", p.index}, {"label", p.label}, {"probability", p.probability}});
      results.push_back({{"image", image}, {"top", preds}});
      continue;
    }
    std::cout << image << '\n';
    for (const auto& p : best) {
      char line[64];
      std::snprintf(line, sizeof line, "  %6.2f%%  %4lld  ", 100.0 * p.probability, static_cast<long long>(p.index));
      std::cout << line << p.label << '\n';
    }
  }
  if (format == "json") std::cout << results.dump(2) << '\n';
  return 0;
#endif
}

}  // namespace reskit::cli
