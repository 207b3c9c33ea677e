#include "reskit/layers/spatial_pyramid_pool.h"

#include <string>

#include "reskit/core/error.h"

namespace reskit::layers {

at::Tensor spatial_pyramid_pool(const at::Tensor& x, const std::vector<int64_t>& levels) {
  if (x.dim() != 4) throw Error("spatial_pyramid_pool: expected N x C x H x W, got " + std::to_string(x.dim()) + " dims");
  if (levels.empty()) throw Error("spatial_pyramid_pool: no levels");
  const int64_t h = x.size(2), w = x.size(3);
  std::vector<at::Tensor> grids;
  for (int64_t level : levels) {
    if (level < 1) throw Error("spatial_pyramid_pool: levels must be positive, got " + std::to_string(level));
    const int64_t kh = (h + level - 1) / level, kw = (w + level - 1) / level;
    const int64_t ph = (kh * level - h + 1) / 2, pw = (kw * level - w + 1) / 2;
    if (ph > kh / 2 || pw > kw / 2)
      throw Error("spatial_pyramid_pool: a " + std::to_string(h) + "x" + std::to_string(w) +
                  " input is too small for level " + std::to_string(level) + " (it needs padding " +
                  std::to_string(ph) + "x" + std::to_string(pw) + " on a " + std::to_string(kh) + "x" +
                  std::to_string(kw) + " kernel; max pooling allows half the kernel)");
    grids.push_back(at::max_pool2d(x, {kh, kw}, {kh, kw}, {ph, pw}).flatten(1));
  }
  return at::cat(grids, 1);
}

}  // namespace reskit::layers
