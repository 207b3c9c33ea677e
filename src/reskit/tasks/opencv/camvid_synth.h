#pragma once
// A small CamVid-layout data set of synthetic street scenes with exact label
// masks, for the demo and the tests: sky (gradient, clouds), buildings (a far
// skyline and facades in perspective, with windows), sidewalks, a road in
// perspective with lane markings, trees, poles with signs, pedestrians and
// cars, drawn near to far over each other; then a blur, a brightness change
// and pixel noise on the image only. Labels are seeds/004's Cam_CLASSES
// indices (camvid_synth_classes()), a 2-pixel border is 255 (ignored).
//
// Every number comes from CounterRng{seed, split stream, image number} and
// OpenCV's integer drawing (no anti-aliasing, no trigonometry of ours), so a
// seed gives the same bytes on every machine, and image k is the same
// whatever the count.
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <string>
#include <vector>

#include "reskit/core/progress.h"

namespace reskit::tasks {

enum class SynthLabelFormat { kIndex, kPalette, kColour };

struct CamvidSynthOptions {
  int64_t images = 64;  // train + valid: valid gets a quarter (at least 1)
  int64_t width = 240, height = 180;
  uint64_t seed = 17;
  SynthLabelFormat labels = SynthLabelFormat::kIndex;
  int64_t test_images = 2;  // test_images/ and test_labels/
};

constexpr int64_t kMaxSynthImages = 10000;
constexpr int64_t kMinSynthSide = 32, kMaxSynthSide = 4096;

struct SynthScene {
  at::Tensor image;  // H x W x 3 uint8, RGB
  at::Tensor label;  // H x W uint8
};

// Scene `index` of split stream `stream` (0: train and valid, 1: test).
SynthScene make_street_scene(int64_t width, int64_t height, uint64_t seed, uint64_t stream, uint64_t index);

// The Cam_CLASSES indices the scenes use: Building, Car, Column_Pole,
// LaneMkgsDriv, Pedestrian, Road, Sidewalk, SignSymbol, Sky, Tree.
const std::vector<int64_t>& camvid_synth_classes();

struct CamvidSynthSummary {
  int64_t train = 0, valid = 0, test = 0;
};

// Writes DIR: train_images/, train_labels/, valid_images/, valid_labels/,
// test_images/, test_labels/ (street_NNNN.png, labels of the same name),
// class_names.txt (seeds/004's 32 names), class_colours.txt (its 37
// Cam_COLORMAP colours, the first 32 named) and make_data.json (what made
// it). Built in DIR.partial.<pid> beside it and renamed into place, so an
// error leaves DIR as it was, and so does an interrupt while the caller
// holds an InterruptScope (core/interrupt.h; the scenes stop at the next
// one); an existing DIR must be empty or an earlier make-data output (which
// is replaced).
CamvidSynthSummary write_camvid_synth(const std::string& dir, const CamvidSynthOptions& options,
                                      Progress::Style style = Progress::Style::kAuto);

}  // namespace reskit::tasks
