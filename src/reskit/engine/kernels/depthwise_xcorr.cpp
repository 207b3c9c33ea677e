#include "depthwise_xcorr.h"

#include <ATen/Parallel.h>

#include "depthwise_xcorr_layer.h"
#include "reskit/core/error.h"

namespace reskit::engine::kernels {

bool DepthwiseXCorrKernel::supports(const DepthwiseXCorrShape& s, Isa isa) {
  return s.channels > 0 && s.channels % isa_lanes(isa) == 0 && s.kernel_h > 0 && s.kernel_w > 0 &&
         s.out_height() > 0 && s.out_width() > 0;
}

DepthwiseXCorrKernel::DepthwiseXCorrKernel(const DepthwiseXCorrShape& shape, Isa isa) : shape_(shape), isa_(isa) {
  if (static_cast<int>(isa) > static_cast<int>(best_isa()))
    throw Error(std::string("xcorr: this CPU (or RESKIT_MAX_CPU_ISA) has no ") + isa_name(isa));
  if (!supports(shape, isa)) throw Error("xcorr: this kernel does not run that correlation");
}

int DepthwiseXCorrKernel::lanes() const { return isa_lanes(isa_); }

int64_t DepthwiseXCorrKernel::kernel_floats() const { return shape_.channels * shape_.kernel_h * shape_.kernel_w; }

size_t DepthwiseXCorrKernel::scratch_bytes() const { return static_cast<size_t>(kernel_floats()) * sizeof(float); }

std::string DepthwiseXCorrKernel::name() const { return std::string("reskit xcorr ") + isa_name(isa_); }

void DepthwiseXCorrKernel::run(const float* src, const float* kernel, const float* bias, float* dst,
                               std::byte* scratch) const {
  const DepthwiseXCorrShape& s = shape_;
  const int64_t lanes = isa_lanes(isa_), taps = s.kernel_h * s.kernel_w;
  // C x taps -> C/lanes x taps x lanes: each tap's weights one vector of channels.
  float* packed = reinterpret_cast<float*>(scratch);
  for (int64_t c = 0; c < s.channels; ++c)
    for (int64_t t = 0; t < taps; ++t) packed[((c / lanes) * taps + t) * lanes + c % lanes] = kernel[c * taps + t];

  DepthwiseXCorrArgs a;
  a.channels = s.channels;
  a.h = s.height;
  a.w = s.width;
  a.kh = s.kernel_h;
  a.kw = s.kernel_w;
  a.oh = s.out_height();
  a.ow = s.out_width();
  a.lanes = static_cast<int>(lanes);
  a.src = src;
  a.kernel = packed;
  a.bias = bias;
  a.dst = dst;
  auto rows = depthwise_xcorr_portable;
#if RESKIT_X86_KERNELS
  if (isa_ == Isa::kAvx512) rows = depthwise_xcorr_avx512;
  if (isa_ == Isa::kAvx2) rows = depthwise_xcorr_avx2;
#endif
  at::parallel_for(0, (s.channels / lanes) * a.oh, 1, [&](int64_t begin, int64_t end) { rows(a, begin, end); });
}

}  // namespace reskit::engine::kernels
