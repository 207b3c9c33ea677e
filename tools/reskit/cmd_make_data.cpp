// reskit make-data camvid DIR: a small CamVid-layout data set of synthetic
// street scenes with exact labels (tasks/opencv/camvid_synth.h).
#include <iostream>

#include "cli_args.h"
#include "commands.h"
#include "reskit/core/error.h"
#include "reskit/core/interrupt.h"
#include "reskit/core/progress.h"
#ifdef RESKIT_HAVE_OPENCV
#include "reskit/tasks/opencv/camvid_synth.h"
#endif

namespace reskit::cli {

int cmd_make_data(const Args& argv) {
  const Command command(
      "make-data", "reskit make-data camvid DIR [--images N] [--size WxH] [--seed N] [--labels index|palette|colour]",
      "Writes a CamVid-layout data set of synthetic street scenes (sky, buildings, road with lane markings, "
      "sidewalks, trees, poles and signs, pedestrians, cars) with exact label masks, as reskit train-seg reads it: "
      "DIR/train_images, train_labels, valid_images, valid_labels (a quarter of N), test_images, test_labels, "
      "class_names.txt and class_colours.txt (seeds/004's Cam_CLASSES and Cam_COLORMAP; labels are Cam_CLASSES "
      "indices, a 2-pixel border is 255, ignored). The same seed gives the same files. DIR must be empty, absent or an "
      "earlier make-data output (then replaced); nothing is left half-written.",
      {{"images", "N", "train + valid images (default 64)"},
       {"size", "WxH", "image size, or one number for a square (default 240x180)"},
       {"seed", "N", "the scenes' seed (default 17)"},
       {"test-images", "N", "held-out images in test_images/ (default 2)"},
       {"labels", "index|palette|colour", "label PNGs: 8-bit class indices, palette PNGs of the indices, or RGB colours "
        "of class_colours.txt (default index)"},
       {"quiet", "", "no progress on stderr"}});
  const ParsedArgs args = command.parse(argv, 2);
  if (args.help) {
    std::cout << command.help_text();
    return 0;
  }
  if (args.positional.empty() || args.positional[0] != "camvid")
    throw Error("make-data: the data set to make comes first: reskit make-data camvid DIR");
  if (args.positional.size() < 2) throw Error("make-data: no DIR given");
#ifndef RESKIT_HAVE_OPENCV
  throw Error("make-data: this build of reskit has no OpenCV (configure with -DRESKIT_WITH_OPENCV=ON)");
#else
  tasks::CamvidSynthOptions o;
  o.images = args.get_int("images", o.images);
  o.test_images = args.get_int("test-images", o.test_images);
  const int64_t seed = args.get_int("seed", static_cast<int64_t>(o.seed));
  if (seed < 0) throw Error("make-data: --seed must not be negative, got " + std::to_string(seed));
  o.seed = static_cast<uint64_t>(seed);
  if (args.has("size")) {
    const std::vector<int64_t> size = parse_size(args.get("size"), "size");
    if (size.size() > 2) throw Error("--size expects WxH or one number, got '" + args.get("size") + "'");
    o.width = size[0];
    o.height = size.back();
  }
  const std::string labels = command.choice(args, "labels", {"index", "palette", "colour"});
  o.labels = labels == "index"     ? tasks::SynthLabelFormat::kIndex
             : labels == "palette" ? tasks::SynthLabelFormat::kPalette
                                   : tasks::SynthLabelFormat::kColour;
  const std::string dir = args.positional[1];
  const InterruptScope interrupt;  // Ctrl-C removes the half-made folder instead of leaving it
  const tasks::CamvidSynthSummary s = tasks::write_camvid_synth(dir, o, progress_style(args.has("quiet")));
  std::cout << "wrote " << dir << ": " << s.train << " train, " << s.valid << " valid, " << s.test << " test images of "
            << o.width << "x" << o.height << " (" << labels << " labels, seed " << o.seed << ")\n";
  return 0;
#endif
}

}  // namespace reskit::cli
