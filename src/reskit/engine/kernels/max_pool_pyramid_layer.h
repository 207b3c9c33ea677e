#pragma once
// What the max-pool pyramid kernels of every ISA read, in plain types (as
// winograd_layer.h, and for the same reason).
#include <cstdint>

namespace reskit::engine::kernels {

constexpr int kMaxPyramidLevels = 8;

struct MaxPoolPyramidLayer {
  int64_t n = 1, channels = 0, h = 0, w = 0;  // of each part
  int lanes = 16;
  int levels = 0;
  // Level i: a k x k max pool, stride 1, padding k / 2, of part from[i] (0:
  // the source, j: level j - 1's output), written as part i + 1.
  int64_t kernel[kMaxPyramidLevels] = {}, from[kMaxPyramidLevels] = {};
  const float* src = nullptr;  // N x C/lanes x H x W x lanes
  float* dst = nullptr;        // N x (levels + 1) C/lanes x H x W x lanes: the source, then each level
};

// Jobs [begin, end) of N x C/lanes planes; `rows` (H x W x lanes floats) is this thread's.
#define RESKIT_PYRAMID_KERNELS(suffix) \
  void max_pool_pyramid_##suffix(const MaxPoolPyramidLayer& layer, float* rows, int64_t begin, int64_t end);
RESKIT_PYRAMID_KERNELS(avx512)
RESKIT_PYRAMID_KERNELS(avx2)
RESKIT_PYRAMID_KERNELS(portable)
#undef RESKIT_PYRAMID_KERNELS

#define RESKIT_DEFINE_PYRAMID_KERNELS(suffix, Vec)                                                           \
  void max_pool_pyramid_##suffix(const MaxPoolPyramidLayer& layer, float* rows, int64_t begin, int64_t end) { \
    MaxPoolPyramid<Vec>::planes(layer, rows, begin, end);                                                     \
  }

}  // namespace reskit::engine::kernels
