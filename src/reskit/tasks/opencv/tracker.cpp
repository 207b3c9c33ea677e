#include "reskit/tasks/opencv/tracker.h"

#include <ATen/ATen.h>
#include <torch/csrc/autograd/grad_mode.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>

#include "reskit/core/error.h"
#include "reskit/engine/weight_pool.h"
#include "reskit/io/opencv/track_frames.h"
#include "reskit/models/tracking/siamban.h"

namespace reskit::tasks {

// The network, and what the current target's template made once.
struct Tracker::Net {
  std::shared_ptr<models::tracking::SiamBANImpl> siamban;
  models::tracking::TemplateKernels kernels;
  // The fast engine's plans, holding their common weights once: the
  // template, z -> (cls kernels..., loc kernels...), and the step,
  // (x, cls kernels..., loc kernels...) -> (cls, loc).
  std::shared_ptr<engine::WeightPool> weights = std::make_shared<engine::WeightPool>();
  std::unique_ptr<EngineRunner> template_kernels, step;
};

Tracker::Tracker(const models::Model& model, c10::Device device, TrackerConfig config, Engine engine)
    : net_(std::make_unique<Net>()), device_(device), config_(std::move(config)), engine_(engine) {
  net_->siamban = std::dynamic_pointer_cast<models::tracking::SiamBANImpl>(model.module);
  if (!net_->siamban) throw Error("track: " + model.name + " is not a tracking model (siamban_r50)");
  net_->siamban->eval();
  const int64_t size = score_size(config_);
  points_ = tracker_points(config_.point_stride, size);
  window_ = cosine_window(size);
}

Tracker::~Tracker() = default;
Tracker::Tracker(Tracker&&) noexcept = default;

namespace {

void check_image(const at::Tensor& image) {
  if (image.dim() != 3 || image.size(2) != 3 || image.scalar_type() != at::kByte)
    throw Error("track: a frame must be H x W x 3 uint8 (BGR)");
}

}  // namespace

void Tracker::init(const at::Tensor& image, const TrackBox& box) {
  check_image(image);
  const double w = static_cast<double>(image.size(1)), h = static_cast<double>(image.size(0));
  const std::string frame = std::to_string(image.size(1)) + "x" + std::to_string(image.size(0)) + " frame";
  if (!std::isfinite(box.x) || !std::isfinite(box.y) || !std::isfinite(box.w) || !std::isfinite(box.h))
    throw Error("track: the initial box's x, y, w and h must be finite numbers");
  if (!(box.w > 0 && box.h > 0))
    throw Error("track: the initial box must have a positive width and height (got " + std::to_string(box.w) + "x" +
                std::to_string(box.h) + ")");
  if (box.x >= w || box.y >= h || box.x + box.w <= 0 || box.y + box.h <= 0)
    throw Error("track: the initial box lies outside the " + frame);
  const TrackState state = state_of(box);
  // The first search crop is about twice the box with its context; past a
  // few frames' size it is no longer a target in this video, only memory.
  const double side = context_side(state.w, state.h, config_.context_amount);
  const double search = side * static_cast<double>(config_.instance_size) / static_cast<double>(config_.exemplar_size);
  if (search > 8 * std::max(w, h))
    throw Error("track: the initial box (" + std::to_string(box.w) + "x" + std::to_string(box.h) +
                ") is too large for the " + frame);
  // np.mean(img, axis=(0, 1)): the sums are exact integers in float64.
  const at::Tensor sums = image.reshape({-1, 3}).to(at::kDouble).sum(0);
  const double pixels = static_cast<double>(image.size(0) * image.size(1));
  std::array<double, 3> average{};
  for (int c = 0; c < 3; ++c) average[c] = sums[c].item<double>() / pixels;
  // Upstream rounds the template's side half to even (Python's round).
  const at::Tensor z = io::crop_subwindow(image, state.cx, state.cy, config_.exemplar_size,
                                          static_cast<int64_t>(std::nearbyint(side)), average);
  at::NoGradGuard no_grad;
  const auto siamban = net_->siamban;
  if (engine_ == Engine::kFast && !net_->template_kernels)
    net_->template_kernels = std::make_unique<EngineRunner>(
        "siamban template", siamban,
        [siamban](const std::vector<at::Tensor>& in) {
          models::tracking::TemplateKernels k = siamban->template_kernels(in[0]);
          std::vector<at::Tensor> out = std::move(k.cls);
          out.insert(out.end(), k.loc.begin(), k.loc.end());
          return out;
        },
        Engine::kFast, net_->weights);
  if (net_->template_kernels) {
    const std::vector<at::Tensor> k = (*net_->template_kernels)({z.to(device_)});
    const auto half = k.begin() + static_cast<std::ptrdiff_t>(k.size() / 2);
    net_->kernels.cls.assign(k.begin(), half);
    net_->kernels.loc.assign(half, k.end());
  } else {
    net_->kernels = siamban->template_kernels(z.to(device_));
  }
  if (engine_ == Engine::kFast && !net_->step) {
    const size_t levels = net_->kernels.cls.size();
    net_->step = std::make_unique<EngineRunner>(
        "siamban track", siamban,
        [siamban, levels](const std::vector<at::Tensor>& in) {
          models::tracking::TemplateKernels k;
          k.cls.assign(in.begin() + 1, in.begin() + 1 + static_cast<std::ptrdiff_t>(levels));
          k.loc.assign(in.begin() + 1 + static_cast<std::ptrdiff_t>(levels), in.end());
          auto [cls, loc] = siamban->track(in[0], k);
          return std::vector<at::Tensor>{cls, loc};
        },
        Engine::kFast, net_->weights);
  }
  state_ = state;  // only once the template is made: a failed init changes nothing
  channel_average_ = average;
}

TrackResult Tracker::track(const at::Tensor& image, TrackDetails* details) {
  check_image(image);
  if (net_->kernels.cls.empty()) throw Error("track: init() must come before track()");
  const double s_z = context_side(state_.w, state_.h, config_.context_amount);  // unrounded here
  const double scale_z = static_cast<double>(config_.exemplar_size) / s_z;
  const double s_x = s_z * (static_cast<double>(config_.instance_size) / static_cast<double>(config_.exemplar_size));
  const int64_t side = static_cast<int64_t>(std::nearbyint(s_x));
  const at::Tensor x = io::crop_subwindow(image, state_.cx, state_.cy, config_.instance_size, side, channel_average_);
  at::Tensor cls, loc;
  {
    at::NoGradGuard no_grad;
    if (net_->step) {
      std::vector<at::Tensor> in = {x.to(device_)};
      in.insert(in.end(), net_->kernels.cls.begin(), net_->kernels.cls.end());
      in.insert(in.end(), net_->kernels.loc.begin(), net_->kernels.loc.end());
      const std::vector<at::Tensor> out = (*net_->step)(in);
      cls = out[0];
      loc = out[1];
    } else {
      std::tie(cls, loc) = net_->siamban->track(x.to(device_), net_->kernels);
    }
  }
  if (cls.size(2) * cls.size(3) != window_.numel())
    throw Error("track: the model's response map has " + std::to_string(cls.size(2) * cls.size(3)) +
                " cells; the tracker's settings give " + std::to_string(window_.numel()) +
                " (INSTANCE_SIZE, EXEMPLAR_SIZE, STRIDE, BASE_SIZE)");
  const at::Tensor score = foreground_scores(cls);
  const at::Tensor boxes = decode_point_boxes(loc, points_);
  TrackChoice choice = choose_box(score, boxes, state_.w, state_.h, scale_z, window_, config_);
  state_ = update_state(state_, choice, image.size(1), image.size(0));
  const TrackResult result{state_.box(), choice.score};
  if (details) *details = {x, cls, loc, score, boxes, s_z, scale_z, s_x, side, std::move(choice)};
  return result;
}

Trajectory track_sequence(Tracker& tracker, const at::Tensor& first, const TrackBox& init, const NextFrame& next,
                          Progress& progress, const OnFrame& on_frame) {
  using Clock = std::chrono::steady_clock;
  Trajectory t;
  auto timed = [&t](auto&& work) {
    const Clock::time_point start = Clock::now();
    work();
    t.seconds += std::chrono::duration<double>(Clock::now() - start).count();
  };
  timed([&] { tracker.init(first, init); });
  t.boxes.push_back(init);
  t.scores.push_back(1.0);
  if (on_frame) on_frame(0, first, init, 1.0);
  progress.step();
  for (at::Tensor image = next(); image.defined(); image = next()) {
    TrackResult r;
    timed([&] { r = tracker.track(image); });
    t.boxes.push_back(r.box);
    t.scores.push_back(r.best_score);
    if (on_frame) on_frame(static_cast<int64_t>(t.boxes.size()) - 1, image, r.box, r.best_score);
    char fps[32];
    std::snprintf(fps, sizeof fps, "%.1f fps", t.fps());
    progress.step(fps);
  }
  return t;
}

}  // namespace reskit::tasks
