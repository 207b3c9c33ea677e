#include "reskit/tasks/seg_mask.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <vector>

#include "reskit/core/error.h"

namespace reskit::tasks {
namespace {

// About this many bytes per band for each of its float temporaries.
constexpr int64_t kBandBytes = 16 << 20;
// An image side reskit will draw a mask for (OpenCV's sizes are int).
constexpr int64_t kMaxSide = 1 << 16;

struct Linear {
  at::Tensor lower, upper;          // source indices, int64
  at::Tensor lower_weight, upper_weight;  // float
};

// upsample_bilinear2d's indices and weights along one axis (align_corners
// false, no scale given): src = (in / out) * (dst + 0.5) - 0.5, clamped at 0;
// the upper neighbour is the lower one at the last row.
Linear linear_indices(int64_t in, int64_t out, const at::Device& device) {
  const float scale = static_cast<float>(in) / static_cast<float>(out);
  std::vector<int64_t> lower(out), upper(out);
  std::vector<float> w0(out), w1(out);
  for (int64_t d = 0; d < out; ++d) {
    const float src = std::max(scale * (static_cast<float>(d) + 0.5f) - 0.5f, 0.0f);
    const int64_t i0 = std::min(static_cast<int64_t>(src), in - 1);
    lower[d] = i0;
    upper[d] = i0 + (i0 < in - 1 ? 1 : 0);
    w1[d] = src - static_cast<float>(i0);
    w0[d] = 1.0f - w1[d];
  }
  const auto as_long = [&](std::vector<int64_t>& v) { return at::tensor(v, at::kLong).to(device); };
  const auto as_float = [&](std::vector<float>& v) { return at::tensor(v, at::kFloat).to(device); };
  return {as_long(lower), as_long(upper), as_float(w0), as_float(w1)};
}

}  // namespace

at::Tensor mask_from_logits(const at::Tensor& logits, int64_t height, int64_t width) {
  if (!logits.defined() || !(logits.dim() == 3 || (logits.dim() == 4 && logits.size(0) == 1)) || logits.numel() == 0)
    throw Error("segmentation: logits must be C x h x w (or 1 x C x h x w) and not empty");
  if (height < 1 || width < 1 || height > kMaxSide || width > kMaxSide)
    throw Error("segmentation: a mask of " + std::to_string(height) + "x" + std::to_string(width) +
                " pixels is outside 1.." + std::to_string(kMaxSide));
  const at::Tensor l = (logits.dim() == 4 ? logits[0] : logits).to(at::kFloat);
  const int64_t classes = l.size(0);
  const Linear ys = linear_indices(l.size(1), height, l.device());
  const Linear xs = linear_indices(l.size(2), width, l.device());
  const at::Tensor xw0 = xs.lower_weight.view({1, 1, width}), xw1 = xs.upper_weight.view({1, 1, width});
  // Along a row first, then between the two rows: upsample_bilinear2d's order,
  // h0 * (w0 * x00 + w1 * x01) + h1 * (w0 * x10 + w1 * x11).
  const auto along_x = [&](const at::Tensor& rows) {
    return rows.index_select(2, xs.lower) * xw0 + rows.index_select(2, xs.upper) * xw1;
  };
  at::Tensor mask = at::empty({height, width}, l.options().dtype(at::kLong));
  const int64_t band = std::max<int64_t>(1, kBandBytes / (4 * classes * width));
  for (int64_t y = 0; y < height; y += band) {
    const int64_t n = std::min(band, height - y);
    const at::Tensor top = along_x(l.index_select(1, ys.lower.narrow(0, y, n)));
    const at::Tensor bottom = along_x(l.index_select(1, ys.upper.narrow(0, y, n)));
    const at::Tensor blended =
        top * ys.lower_weight.narrow(0, y, n).view({1, n, 1}) + bottom * ys.upper_weight.narrow(0, y, n).view({1, n, 1});
    mask.narrow(0, y, n).copy_(blended.argmax(0));
  }
  return mask;
}

}  // namespace reskit::tasks
