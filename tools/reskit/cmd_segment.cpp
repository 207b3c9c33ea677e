// reskit segment: a class per pixel of each image with a segmentation model
// (default encnet_r50), written as the class-index mask, its colours and an
// overlay, at the image's own resolution.
#include <ATen/ATen.h>
#include <nlohmann/json.hpp>

#include <cstdio>
#include <filesystem>
#include <iostream>
#include <set>

#include "model_command.h"
#include "reskit/core/error.h"
#include "reskit/core/progress.h"
#include "reskit/tasks/seg_data.h"
#include "reskit/tasks/seg_report.h"
#ifdef RESKIT_HAVE_OPENCV
#include "reskit/io/opencv/seg_render.h"
#include "reskit/io/opencv/track_frames.h"
#include "reskit/tasks/opencv/segmenter.h"
#endif

namespace reskit::cli {
namespace {

#ifdef RESKIT_HAVE_OPENCV
// DIR/<stem>_mask.png, _colour.png, _overlay.png; a stem two inputs share gets _2, _3, ...
io::SegmentationPaths output_paths(const std::string& dir, const std::string& image, std::set<std::string>& used) {
  const std::string stem = std::filesystem::path(image).stem().string();
  std::string name = stem;
  for (int k = 2; !used.insert(name).second; ++k) name = stem + "_" + std::to_string(k);
  const std::filesystem::path d(dir);
  return {(d / (name + "_mask.png")).string(), (d / (name + "_colour.png")).string(),
          (d / (name + "_overlay.png")).string()};
}
#endif

}  // namespace

int cmd_segment(const Args& argv) {
  ModelCommand command(
      "segment", "reskit segment [MODEL] --weights W [--size 224] IMAGE... --out DIR [--colours FILE]",
      "A class for every pixel of each image with a segmentation model (default encnet_r50), as its validation "
      "sees images: RGB resized to size x size, ImageNet-normalised; the logits are upsampled bilinearly to the "
      "image's resolution and the best class taken. Writes DIR/<stem>_mask.png (the class indices, 8-bit grey), "
      "DIR/<stem>_colour.png (the classes' colours) and DIR/<stem>_overlay.png (the colours over the image, alpha "
      "0.5). Classes without a colour, and the ignore label 255, are drawn black.",
      {{"size", "S", "the side images are resized to, a multiple of 8 (default 224)"},
       {"out", "DIR", "where the PNGs go (created if missing)"},
       {"colours", "FILE", "one 'R G B' (or R,G,B) line per class (default: seeds/004's CamVid palette)"},
       {"names", "FILE", "class names, one a line, for the JSON (default: the indices)"},
       {"format", "text|json", "output format (default text)"},
       ModelCommand::engine_flag(),
       {"quiet", "", "no progress on stderr"}});
  if (!command.parse(argv, 1 << 20)) return 0;
  const ParsedArgs& args = command.args();
#ifndef RESKIT_HAVE_OPENCV
  throw Error("segment: this build of reskit has no OpenCV (configure with -DRESKIT_WITH_OPENCV=ON)");
#else
  std::vector<std::string> images;
  const std::string model_name = command.model_before_inputs("encnet_r50", images);
  if (images.empty()) throw Error("segment: no images given");
  if (!args.has("out")) throw Error("segment: --out DIR is required");
  const std::string format = command.command().choice(args, "format", {"text", "json"});
  const tasks::Engine engine = command.engine();
  const int64_t size = args.get_int("size", 224);
  tasks::check_seg_size(size);
  const tasks::ClassColours palette =
      args.has("colours") ? tasks::read_class_colours(args.get("colours")) : tasks::camvid_seed_colours();
  const std::vector<std::string> names = args.has("names") ? tasks::read_class_names(args.get("names"))
                                                           : std::vector<std::string>{};
  // Every image is decoded before the model is built: a broken one fails
  // at once, and no run stops half-way through its outputs.
  for (const std::string& image : images) io::read_bgr_image(image);
  const std::string out_dir = args.get("out");
  std::error_code ec;
  std::filesystem::create_directories(out_dir, ec);
  if (!std::filesystem::is_directory(out_dir)) throw Error("segment: cannot create --out directory '" + out_dir + "'");
  if (!args.has("weights"))
    std::cerr << "segment: no --weights: the model keeps its seeded random weights, and the masks mean nothing\n";

  const tasks::PreparedModel prepared = command.prepare(model_name);
  const tasks::Segmenter segmenter(prepared.model, prepared.device, size, engine);
  nlohmann::json results = nlohmann::json::array();
  std::set<std::string> used;
  bool warned_palette = false;
  Progress progress("segment", static_cast<int64_t>(images.size()), progress_style(args.has("quiet")));
  for (const std::string& image : images) {
    const tasks::Segmentation s = segmenter.segment(image);
    if (static_cast<int64_t>(palette.size()) < s.num_classes && !warned_palette) {
      std::cerr << "segment: the palette has " << palette.size() << " colours for " << s.num_classes
                << " classes; the others are drawn black\n";
      warned_palette = true;
    }
    const io::SegmentationPaths paths = output_paths(out_dir, image, used);
    io::write_segmentation_pngs(s.image, s.mask, palette, paths);
    progress.step(image);

    const at::Tensor counts = at::bincount(s.mask.reshape(-1), {}, s.num_classes);
    const double pixels = static_cast<double>(s.mask.numel());
    nlohmann::json classes = nlohmann::json::array();
    for (int64_t c = 0; c < s.num_classes; ++c) {
      const int64_t n = counts[c].item<int64_t>();
      if (n > 0) classes.push_back({{"class", c}, {"name", tasks::class_name(names, c)}, {"fraction", n / pixels}});
    }
    results.push_back({{"image", image}, {"width", s.mask.size(1)}, {"height", s.mask.size(0)}, {"mask", paths.mask},
                       {"colour", paths.colour}, {"overlay", paths.overlay}, {"classes", classes}});
  }
  progress.finish();
  if (format == "json") {
    std::cout << results.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << '\n';
    return 0;
  }
  for (const nlohmann::json& r : results) {
    std::cout << r["image"].get<std::string>() << ": " << r["width"] << "x" << r["height"] << ", "
              << r["classes"].size() << (r["classes"].size() == 1 ? " class" : " classes") << '\n';
    for (const nlohmann::json& c : r["classes"]) {
      char line[256];
      const int64_t cls = c["class"].get<int64_t>();
      const std::string name = c["name"].get<std::string>();  // shown when it says more than the index
      std::snprintf(line, sizeof line, "  %3lld %-24s %6.2f%%\n", static_cast<long long>(cls),
                    name == std::to_string(cls) ? "" : name.substr(0, 200).c_str(), 100 * c["fraction"].get<double>());
      std::cout << line;
    }
    std::cout << "  " << r["mask"].get<std::string>() << ", " << r["colour"].get<std::string>() << ", "
              << r["overlay"].get<std::string>() << '\n';
  }
  return 0;
#endif
}

}  // namespace reskit::cli
