#pragma once
// reskit's depthwise cross-correlation: a search map's channels each
// correlated with the same channel of a kernel that is an input of the run
// (SiamBAN's and SiamRPN++'s xcorr_depthwise: a template's features), one
// image, stride 1, no padding, with an optional bias. Both maps stay in
// oneDNN's blocked layout (nChw16c with AVX-512, nChw8c otherwise), so that
// it sits between the convolutions around it with no conversion; the kernel
// comes dense (C x 1 x kh x kw) and is packed per run, which costs C x kh x kw
// floats. AVX-512, AVX2+FMA and portable C++, as kernels/isa.h chooses.
#include <cstddef>
#include <cstdint>
#include <string>

#include "isa.h"

namespace reskit::engine::kernels {

struct DepthwiseXCorrShape {
  int64_t channels = 0, height = 0, width = 0, kernel_h = 0, kernel_w = 0;
  int64_t out_height() const { return height - kernel_h + 1; }
  int64_t out_width() const { return width - kernel_w + 1; }
};

class DepthwiseXCorrKernel {
 public:
  DepthwiseXCorrKernel(const DepthwiseXCorrShape& shape, Isa isa);

  // Channels a multiple of the ISA's block, a kernel no larger than the map.
  static bool supports(const DepthwiseXCorrShape& shape, Isa isa);

  int lanes() const;
  int64_t kernel_floats() const;  // C x kh x kw: what run() reads of the kernel
  size_t scratch_bytes() const;   // the packed kernel
  std::string name() const;      // "reskit xcorr avx512"

  // src, dst: blocked; kernel: dense C x kh x kw; bias: C values or null;
  // scratch: scratch_bytes(), 64-aligned.
  void run(const float* src, const float* kernel, const float* bias, float* dst, std::byte* scratch) const;

 private:
  DepthwiseXCorrShape shape_;
  Isa isa_;
};

}  // namespace reskit::engine::kernels
