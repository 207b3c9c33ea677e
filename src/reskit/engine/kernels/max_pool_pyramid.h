#pragma once
// reskit's max-pool pyramid: the channel concatenation of a map and its
// same-size max pools (stride 1, padding k / 2), each pooling the map or an
// earlier level, as YOLOv5's SPPF (three chained 5x5 pools) and SPP (5, 9 and
// 13 on the map) make it, in one step that writes each part once, straight
// into the concatenation, on oneDNN's blocked layout (nChw16c with AVX-512,
// nChw8c otherwise). Pools are separable: 2k comparisons an output, not k^2.
// NaN propagates as in PyTorch's max pooling.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "isa.h"

namespace reskit::engine::kernels {

struct PyramidLevel {
  int64_t kernel = 5;  // odd
  int64_t from = 0;    // 0: the map; j: level j - 1's output
};

class MaxPoolPyramid {
 public:
  // batch, channels, height, width: the map's.
  MaxPoolPyramid(int64_t batch, int64_t channels, int64_t height, int64_t width, std::vector<PyramidLevel> levels,
                 Isa isa);

  // Channels a multiple of the ISA's block, at most 8 levels, odd kernels, each from the map or an earlier level.
  static bool supports(int64_t channels, const std::vector<PyramidLevel>& levels, Isa isa);

  int lanes() const;
  size_t scratch_bytes(int threads) const;
  std::string name() const;  // "reskit max-pool pyramid avx512"

  // src: the map, blocked; dst: (levels + 1) x channels, blocked.
  void run(const float* src, float* dst, std::byte* scratch) const;

 private:
  int64_t batch_, channels_, height_, width_;
  std::vector<PyramidLevel> levels_;
  Isa isa_;
};

}  // namespace reskit::engine::kernels
