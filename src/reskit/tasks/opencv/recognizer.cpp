#include "reskit/tasks/opencv/recognizer.h"

#include <ATen/ATen.h>

#include <filesystem>
#include <map>
#include <set>

#include "reskit/core/error.h"
#include "reskit/io/opencv/video_frames.h"
#include "reskit/tasks/model_setup.h"

namespace reskit::tasks {
namespace {

// One view: the clip's frames cut to `box`, as 1 x 3 x T x H x W floats
// normalised per RGB channel.
at::Tensor view_tensor(const std::map<int64_t, at::Tensor>& frames, const std::vector<int64_t>& clip,
                       const CropBox& box, const RecognitionProtocol& p) {
  std::vector<at::Tensor> cut;
  for (int64_t i : clip) cut.push_back(frames.at(i).slice(0, box.y1, box.y2).slice(1, box.x1, box.x2));
  const at::Tensor mean = at::tensor({p.mean[0], p.mean[1], p.mean[2]}).view({3, 1, 1, 1});
  const at::Tensor std = at::tensor({p.std[0], p.std[1], p.std[2]}).view({3, 1, 1, 1});
  return ((at::stack(cut).permute({3, 0, 1, 2}).to(at::kFloat) - mean) / std).unsqueeze(0).contiguous();
}

}  // namespace

Recognizer::Recognizer(const models::Model& model, c10::Device device, RecognitionProtocol protocol, Engine engine)
    : model_(model), device_(device), protocol_(std::move(protocol)), forward_(model, engine) {}

Recognition Recognizer::recognize(const std::string& path, Progress::Style style) const {
  io::VideoFrames video(path);
  Recognition r;
  r.total_frames = video.frame_count();
  r.clips = sample_test_clips(r.total_frames, protocol_.clip_len, protocol_.frame_interval, protocol_.num_clips);
  std::set<int64_t> wanted;
  for (const auto& clip : r.clips) wanted.insert(clip.begin(), clip.end());

  const int64_t crops = protocol_.three_crop ? 3 : 1;
  r.views = static_cast<int64_t>(r.clips.size()) * crops;
  Progress progress("recognize " + std::filesystem::path(path).filename().string(),
                    static_cast<int64_t>(wanted.size()) + r.views, style);
  // Only the sampled frames are kept, resized: at most num_clips x clip_len.
  std::map<int64_t, at::Tensor> frames;
  FrameSize resized;
  const auto target = [&](int64_t w, int64_t h) {
    resized = resize_short_side({w, h}, protocol_.short_side);
    return std::pair<int64_t, int64_t>(resized.width, resized.height);
  };
  video.read({wanted.begin(), wanted.end()}, target, [&](int64_t index, const at::Tensor& rgb) {
    if (!frames.empty() && !rgb.sizes().equals(frames.begin()->second.sizes()))
      throw Error("'" + path + "': its frames change size");
    frames[index] = rgb;
    progress.step("decode");
  });

  const std::vector<CropBox> boxes = protocol_crops(protocol_, resized);
  std::vector<at::Tensor> logits;
  for (const auto& clip : r.clips) {
    for (const CropBox& box : boxes) {
      const std::vector<at::Tensor> out = forward_({view_tensor(frames, clip, box, protocol_).to(device_)});
      if (out.size() != 1 || out[0].dim() != 2 || out[0].size(0) != 1)
        throw Error(model_.name + " is not a video recogniser: it does not return one row of class scores per clip");
      logits.push_back(out[0].to(at::kCPU));
      progress.step("view");
    }
  }
  progress.finish();
  r.probabilities = average_view_probabilities(at::cat(logits, 0));
  return r;
}

}  // namespace reskit::tasks
