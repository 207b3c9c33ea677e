#pragma once
// SiamBAN's tracker over images: init on a first frame and a box, then one
// box per frame. Crops are io/opencv's (context-padded squares, mean
// padding, uint8 INTER_LINEAR resize); the template's kernels are made once
// per target (SiamBAN::template_kernels), each frame runs track().
#include <c10/core/Device.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "reskit/core/progress.h"

#include "reskit/models/registry.h"
#include "reskit/tasks/engine_runner.h"
#include "reskit/tasks/tracking.h"

namespace reskit::tasks {

struct TrackResult {
  TrackBox box;
  double best_score = 0;
};

// Everything one tracked frame computed, for tests and debugging.
struct TrackDetails {
  at::Tensor x_crop, cls, loc, score, boxes;
  double s_z = 0, scale_z = 0, s_x = 0;
  int64_t s_x_rounded = 0;
  TrackChoice choice;
};

class Tracker {
 public:
  // `model` is a siamban_r50 (any other is a one-line error); it must outlive the tracker.
  // With the fast engine, each frame's step (search crop and the template's
  // kernels to scores and boxes) runs as a plan compiled at the first init.
  Tracker(const models::Model& model, c10::Device device, TrackerConfig config, Engine engine = Engine::kEager);
  ~Tracker();
  Tracker(Tracker&&) noexcept;

  // image: H x W x 3 uint8, BGR (as cv::imread gives it). A box of
  // non-positive size or one that does not overlap the image is an error.
  void init(const at::Tensor& image, const TrackBox& box);
  TrackResult track(const at::Tensor& image, TrackDetails* details = nullptr);

  const TrackerConfig& config() const { return config_; }
  const TrackState& state() const { return state_; }
  // Puts the tracker at a state (its template unchanged): a test compares
  // each frame from the same previous state.
  void set_state(const TrackState& state) { state_ = state; }
  // The per-channel mean of the first frame (B, G, R), the crops' padding.
  const std::array<double, 3>& channel_average() const { return channel_average_; }

 private:
  struct Net;
  std::unique_ptr<Net> net_;
  c10::Device device_;
  TrackerConfig config_;
  Engine engine_;
  TrackState state_;
  std::array<double, 3> channel_average_{};
  at::Tensor points_, window_;
};

// One pass over a sequence (OPE): init on the first frame with the box,
// track every frame after it. `next` gives the frames after the first and an
// undefined tensor at the end; `on_frame` sees each frame with its box (the
// init box for the first) and score (1 for the first). The progress bar
// counts frames and shows frames per second.
struct Trajectory {
  std::vector<TrackBox> boxes;  // one per frame, the first is the init box
  std::vector<double> scores;
  double seconds = 0;  // in init and track (not decoding or drawing), as pysot times it
  double fps() const { return seconds > 0 ? static_cast<double>(boxes.size()) / seconds : 0; }
};
using NextFrame = std::function<at::Tensor()>;
using OnFrame = std::function<void(int64_t index, const at::Tensor& image, const TrackBox& box, double score)>;
Trajectory track_sequence(Tracker& tracker, const at::Tensor& first, const TrackBox& init, const NextFrame& next,
                          Progress& progress, const OnFrame& on_frame = nullptr);

}  // namespace reskit::tasks
