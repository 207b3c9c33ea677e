#include "max_pool_pyramid.h"

#include <ATen/Parallel.h>

#include "max_pool_pyramid_layer.h"
#include "reskit/core/error.h"

namespace reskit::engine::kernels {

bool MaxPoolPyramid::supports(int64_t channels, const std::vector<PyramidLevel>& levels, Isa isa) {
  if (channels <= 0 || channels % isa_lanes(isa) != 0 || levels.empty() ||
      levels.size() > static_cast<size_t>(kMaxPyramidLevels))
    return false;
  for (size_t i = 0; i < levels.size(); ++i)
    if (levels[i].kernel < 1 || levels[i].kernel % 2 == 0 || levels[i].from < 0 ||
        levels[i].from > static_cast<int64_t>(i))
      return false;
  return true;
}

MaxPoolPyramid::MaxPoolPyramid(int64_t batch, int64_t channels, int64_t height, int64_t width,
                               std::vector<PyramidLevel> levels, Isa isa)
    : batch_(batch), channels_(channels), height_(height), width_(width), levels_(std::move(levels)), isa_(isa) {
  if (static_cast<int>(isa) > static_cast<int>(best_isa()))
    throw Error(std::string("max-pool pyramid: this CPU (or RESKIT_MAX_CPU_ISA) has no ") + isa_name(isa));
  if (!supports(channels, levels_, isa) || batch <= 0 || height <= 0 || width <= 0)
    throw Error("max-pool pyramid: this kernel does not run that pyramid");
}

int MaxPoolPyramid::lanes() const { return isa_lanes(isa_); }

size_t MaxPoolPyramid::scratch_bytes(int threads) const {
  const size_t rows = static_cast<size_t>(height_ * width_ * lanes()) * sizeof(float);
  return static_cast<size_t>(std::max(threads, 1)) * ((rows + 63) / 64 * 64);
}

std::string MaxPoolPyramid::name() const { return std::string("reskit max-pool pyramid ") + isa_name(isa_); }

void MaxPoolPyramid::run(const float* src, float* dst, std::byte* scratch) const {
  MaxPoolPyramidLayer a;
  a.n = batch_;
  a.channels = channels_;
  a.h = height_;
  a.w = width_;
  a.lanes = lanes();
  a.levels = static_cast<int>(levels_.size());
  for (size_t i = 0; i < levels_.size(); ++i) {
    a.kernel[i] = levels_[i].kernel;
    a.from[i] = levels_[i].from;
  }
  a.src = src;
  a.dst = dst;
  const size_t rows_stride = scratch_bytes(1) / sizeof(float);
  auto planes = max_pool_pyramid_portable;
#if RESKIT_X86_KERNELS
  if (isa_ == Isa::kAvx512) planes = max_pool_pyramid_avx512;
  if (isa_ == Isa::kAvx2) planes = max_pool_pyramid_avx2;
#endif
  at::parallel_for(0, batch_ * (channels_ / a.lanes), 1, [&](int64_t begin, int64_t end) {
    planes(a, reinterpret_cast<float*>(scratch) + static_cast<size_t>(at::get_thread_num()) * rows_stride, begin, end);
  });
}

}  // namespace reskit::engine::kernels
