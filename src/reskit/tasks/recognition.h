#pragma once
// Video action recognition as mmaction2 1.2.0 tests I3D: which frames each
// clip takes (SampleFrames in test mode), how frames are resized and cropped
// (Resize to a short side, ThreeCrop or CenterCrop), and how the views'
// scores become one answer (average_clips='prob'). The decoding itself is
// OpenCV's (tasks/opencv/recognizer.h); this part needs none.
#include <ATen/core/Tensor.h>

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace reskit::tasks {

// mmaction2's I3D test pipelines: "test" (10 clips x ThreeCrop 256) or "val"
// (1 clip, CenterCrop 224), both on 32 frames 2 apart at short side 256, RGB
// normalised with i3d_r50's data_preprocessor.
struct RecognitionProtocol {
  std::string name = "test";
  int64_t clip_len = 32, frame_interval = 2, num_clips = 10;
  int64_t short_side = 256, crop = 256;
  bool three_crop = true;  // false: one centre crop
  std::array<float, 3> mean = {123.675f, 116.28f, 103.53f};  // RGB, 0-255 scale
  std::array<float, 3> std = {58.395f, 57.12f, 57.375f};
};
RecognitionProtocol recognition_protocol(const std::string& name);  // "test" or "val"

// SampleFrames(clip_len, frame_interval, num_clips, test_mode=True): the
// frame indices of each clip. Offsets are round-half-even(k * max_offset /
// (num_clips - 1)), one clip sits at max_offset // 2, and indices past the end
// loop back (a video shorter than a clip repeats).
std::vector<std::vector<int64_t>> sample_test_clips(int64_t total_frames, int64_t clip_len, int64_t frame_interval,
                                                    int64_t num_clips);

struct FrameSize {
  int64_t width = 0, height = 0;
  bool operator==(const FrameSize& o) const { return width == o.width && height == o.height; }
};
// Resize(scale=(-1, short_side)): the short side becomes short_side, the other
// keeps the aspect ratio (rounded half up, as mmcv's rescale_size).
FrameSize resize_short_side(FrameSize frame, int64_t short_side);

// A crop's pixels [x1, x2) x [y1, y2).
struct CropBox {
  int64_t x1 = 0, y1 = 0, x2 = 0, y2 = 0;
  bool operator==(const CropBox& o) const { return x1 == o.x1 && y1 == o.y1 && x2 == o.x2 && y2 == o.y2; }
};
// ThreeCrop(crop): three crops along the long side, in mmaction2's order
// (left/top, right/bottom, middle); the short side must equal `crop`.
std::vector<CropBox> three_crop_boxes(FrameSize frame, int64_t crop);
// CenterCrop(crop).
CropBox center_crop_box(FrameSize frame, int64_t crop);
// The crops a protocol takes of a frame of this (resized) size.
std::vector<CropBox> protocol_crops(const RecognitionProtocol& protocol, FrameSize resized);

// average_clips='prob': the mean over views (rows) of each view's softmax.
at::Tensor average_view_probabilities(const at::Tensor& logits);

// Kinetics-400's class names (opencv-doc's action_recongnition_kinetics.txt,
// in mmaction2's label order) or a file's lines; class indices where neither
// has a name.
std::vector<std::string> recognition_labels(int64_t num_classes, const std::string& path);

struct RankedClass {
  int64_t index = 0;
  double probability = 0;
};
std::vector<RankedClass> top_classes(const at::Tensor& probabilities, int64_t k);

}  // namespace reskit::tasks
