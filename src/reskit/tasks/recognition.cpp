#include "reskit/tasks/recognition.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>

#include "reskit/core/error.h"
#include "reskit/tasks/classification.h"

namespace reskit::tasks {

RecognitionProtocol recognition_protocol(const std::string& name) {
  RecognitionProtocol p;
  p.name = name;
  if (name == "test") return p;
  if (name == "val") {
    p.num_clips = 1;
    p.crop = 224;
    p.three_crop = false;
    return p;
  }
  throw Error("recognize: unknown protocol '" + name + "' (test or val)");
}

std::vector<std::vector<int64_t>> sample_test_clips(int64_t total_frames, int64_t clip_len, int64_t frame_interval,
                                                    int64_t num_clips) {
  if (total_frames < 1) throw Error("recognize: the video has no frames");
  if (clip_len < 1 || frame_interval < 1 || num_clips < 1)
    throw Error("recognize: clip_len, frame_interval and num_clips must be positive");
  // Test mode spans (clip_len - 1) * interval + 1 frames per clip.
  const int64_t span = (clip_len - 1) * frame_interval + 1;
  const int64_t max_offset = std::max<int64_t>(total_frames - span, 0);
  std::vector<int64_t> offsets;
  if (num_clips > 1) {
    const double between = static_cast<double>(max_offset) / static_cast<double>(num_clips - 1);
    for (int64_t k = 0; k < num_clips; ++k)
      offsets.push_back(static_cast<int64_t>(std::nearbyint(static_cast<double>(k) * between)));  // half to even
  } else {
    offsets.push_back(max_offset / 2);
  }
  std::vector<std::vector<int64_t>> clips;
  for (int64_t offset : offsets) {
    std::vector<int64_t> clip;
    for (int64_t t = 0; t < clip_len; ++t) clip.push_back((offset + t * frame_interval) % total_frames);
    clips.push_back(std::move(clip));
  }
  return clips;
}

FrameSize resize_short_side(FrameSize frame, int64_t short_side) {
  if (frame.width < 1 || frame.height < 1) throw Error("recognize: a frame has no pixels");
  const double factor = static_cast<double>(short_side) / static_cast<double>(std::min(frame.width, frame.height));
  return {static_cast<int64_t>(static_cast<double>(frame.width) * factor + 0.5),
          static_cast<int64_t>(static_cast<double>(frame.height) * factor + 0.5)};
}

std::vector<CropBox> three_crop_boxes(FrameSize f, int64_t crop) {
  if (f.height == crop && f.width >= crop) {
    const int64_t step = (f.width - crop) / 2;
    return {{0, 0, crop, crop}, {2 * step, 0, 2 * step + crop, crop}, {step, 0, step + crop, crop}};
  }
  if (f.width == crop && f.height >= crop) {
    const int64_t step = (f.height - crop) / 2;
    return {{0, 0, crop, crop}, {0, 2 * step, crop, 2 * step + crop}, {0, step, crop, step + crop}};
  }
  throw Error("recognize: ThreeCrop " + std::to_string(crop) + " needs a frame side of " + std::to_string(crop) +
              ", got " + std::to_string(f.width) + "x" + std::to_string(f.height));
}

CropBox center_crop_box(FrameSize f, int64_t crop) {
  const int64_t left = (f.width - crop) / 2, top = (f.height - crop) / 2;
  if (left < 0 || top < 0)
    throw Error("recognize: CenterCrop " + std::to_string(crop) + " is larger than the frame " +
                std::to_string(f.width) + "x" + std::to_string(f.height));
  return {left, top, left + crop, top + crop};
}

std::vector<CropBox> protocol_crops(const RecognitionProtocol& protocol, FrameSize resized) {
  if (protocol.three_crop) return three_crop_boxes(resized, protocol.crop);
  return {center_crop_box(resized, protocol.crop)};
}

at::Tensor average_view_probabilities(const at::Tensor& logits) {
  return at::softmax(logits.to(at::kFloat), 1).mean(0);
}

std::vector<std::string> recognition_labels(int64_t num_classes, const std::string& path) {
  std::vector<std::string> labels =
      load_labels(path, {"/usr/share/doc/opencv-doc/examples/data/dnn/action_recongnition_kinetics.txt"});
  labels.resize(static_cast<size_t>(std::max<int64_t>(num_classes, 0)));
  for (size_t i = 0; i < labels.size(); ++i)
    if (labels[i].empty()) labels[i] = std::to_string(i);
  return labels;
}

std::vector<RankedClass> top_classes(const at::Tensor& probabilities, int64_t k) {
  const at::Tensor p = probabilities.to(at::kDouble).contiguous();
  k = std::min<int64_t>(k, p.numel());
  const auto [values, indices] = at::topk(p, k);
  std::vector<RankedClass> top;
  for (int64_t i = 0; i < k; ++i) top.push_back({indices[i].item<int64_t>(), values[i].item<double>()});
  return top;
}

}  // namespace reskit::tasks
