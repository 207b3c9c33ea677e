#include "reskit/tasks/tracking.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>

#include "reskit/core/error.h"

namespace reskit::tasks {

TrackerConfig tracker_config(const std::string& experiment) {
  TrackerConfig c;
  if (experiment == "siamban_r50_l234") return c;
  if (experiment == "siamban_r50_l234_otb") {
    c.name = experiment;
    c.window_influence = 0.3850733326567302;
    c.penalty_k = 0.020530504470126613;
    c.lr = 0.4730770315643308;
    return c;
  }
  throw Error("track: unknown tracker experiment '" + experiment + "' (siamban_r50_l234 or siamban_r50_l234_otb)");
}

int64_t score_size(const TrackerConfig& c) {
  return (c.instance_size - c.exemplar_size) / c.point_stride + 1 + c.base_size;
}

at::Tensor tracker_points(int64_t stride, int64_t size) {
  at::Tensor offsets = (at::arange(size, at::kLong) - size / 2) * stride;
  const std::vector<at::Tensor> grid = at::meshgrid({offsets, offsets}, "ij");  // rows are y
  return at::stack({grid[1].reshape(-1), grid[0].reshape(-1)}, 1).to(at::kFloat);
}

at::Tensor cosine_window(int64_t size) {
  // numpy's hanning: 0.5 - 0.5 cos(2 pi n / (M - 1)); a single point is 1.
  std::vector<double> hann(size, 1.0);
  if (size > 1)
    for (int64_t n = 0; n < size; ++n) hann[n] = 0.5 - 0.5 * std::cos(2.0 * M_PI * n / static_cast<double>(size - 1));
  at::Tensor w = at::empty({size * size}, at::kDouble);
  double* p = w.data_ptr<double>();
  for (int64_t i = 0; i < size; ++i)
    for (int64_t j = 0; j < size; ++j) p[i * size + j] = hann[i] * hann[j];
  return w;
}

double context_side(double w, double h, double context_amount) {
  const double pad = context_amount * (w + h);
  return std::sqrt((w + pad) * (h + pad));
}

at::Tensor foreground_scores(const at::Tensor& cls) {
  const int64_t channels = cls.size(1);
  at::Tensor per_cell = cls.detach().to(at::kCPU).permute({1, 2, 3, 0}).contiguous().view({channels, -1});
  if (channels == 1) return per_cell.view(-1).sigmoid();
  return per_cell.permute({1, 0}).softmax(1).select(1, 1).contiguous();
}

at::Tensor decode_point_boxes(const at::Tensor& loc, const at::Tensor& points) {
  const at::Tensor ltrb = loc.detach().to(at::kCPU).permute({1, 2, 3, 0}).reshape({4, -1});
  const at::Tensor px = points.select(1, 0), py = points.select(1, 1);
  const at::Tensor x1 = px - ltrb[0], y1 = py - ltrb[1], x2 = px + ltrb[2], y2 = py + ltrb[3];
  return at::stack({(x1 + x2) * 0.5, (y1 + y2) * 0.5, x2 - x1, y2 - y1}).contiguous();
}

TrackChoice choose_box(const at::Tensor& score, const at::Tensor& boxes, double width, double height, double scale_z,
                       const at::Tensor& window, const TrackerConfig& config) {
  const int64_t n = score.numel();
  if (boxes.size(1) != n || window.numel() != n)
    throw Error("track: " + std::to_string(n) + " scores, but boxes for " + std::to_string(boxes.size(1)) +
                " and a window of " + std::to_string(window.numel()));
  TrackChoice c;
  c.penalty = at::empty({n}, at::kFloat);
  c.pscore = at::empty({n}, at::kDouble);
  const float* s = score.data_ptr<float>();
  const float* bw = boxes[2].data_ptr<float>();
  const float* bh = boxes[3].data_ptr<float>();
  const double* win = window.data_ptr<double>();
  float* pen = c.penalty.data_ptr<float>();
  double* ps = c.pscore.data_ptr<double>();

  // The side of the current size with its (w + h) / 2 context, at the crop's
  // scale. The official code mixes float32 arrays with float64 scalars, so
  // the scalar comes in as float32, as numpy 1.x casts it.
  const double sw = width * scale_z, sh = height * scale_z, pad = (sw + sh) * 0.5;
  const float current_side = static_cast<float>(std::sqrt((sw + pad) * (sh + pad)));
  const float current_ratio = static_cast<float>(width / height);
  const float k = static_cast<float>(config.penalty_k);
  const float keep = static_cast<float>(1.0 - config.window_influence);
  const double influence = config.window_influence;
  for (int64_t i = 0; i < n; ++i) {
    const float box_pad = (bw[i] + bh[i]) * 0.5f;
    const float r = std::sqrt((bw[i] + box_pad) * (bh[i] + box_pad)) / current_side;
    const float scale_change = std::max(r, 1.0f / r);
    const float q = current_ratio / (bw[i] / bh[i]);
    const float ratio_change = std::max(q, 1.0f / q);
    pen[i] = std::exp(-(ratio_change * scale_change - 1.0f) * k);
    ps[i] = static_cast<double>(pen[i] * s[i] * keep) + win[i] * influence;
  }
  c.best_idx = at::argmax(c.pscore).item<int64_t>();  // the first maximum, as numpy's
  const float sz = static_cast<float>(scale_z);
  const at::Tensor best = boxes.select(1, c.best_idx).contiguous();
  for (int i = 0; i < 4; ++i) c.box[i] = best.data_ptr<float>()[i] / sz;
  c.score = s[c.best_idx];
  c.lr = static_cast<double>(pen[c.best_idx] * s[c.best_idx]) * config.lr;
  return c;
}

TrackState state_of(const TrackBox& box) { return {box.x + (box.w - 1) / 2, box.y + (box.h - 1) / 2, box.w, box.h}; }

TrackState update_state(const TrackState& state, const TrackChoice& choice, int64_t image_width, int64_t image_height) {
  const double iw = static_cast<double>(image_width), ih = static_cast<double>(image_height);
  TrackState next;
  next.cx = std::max(0.0, std::min(choice.box[0] + state.cx, iw));
  next.cy = std::max(0.0, std::min(choice.box[1] + state.cy, ih));
  next.w = std::max(10.0, std::min(state.w * (1 - choice.lr) + choice.box[2] * choice.lr, iw));
  next.h = std::max(10.0, std::min(state.h * (1 - choice.lr) + choice.box[3] * choice.lr, ih));
  return next;
}

}  // namespace reskit::tasks
