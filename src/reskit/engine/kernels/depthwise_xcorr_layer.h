#pragma once
// What the depthwise cross-correlation kernels of every ISA read, in plain
// types (as winograd_layer.h, and for the same reason: the ISA files include
// nothing of LibTorch's and no shared inline function).
#include <cstdint>

namespace reskit::engine::kernels {

struct DepthwiseXCorrArgs {
  int64_t channels = 0, h = 0, w = 0, kh = 0, kw = 0, oh = 0, ow = 0;  // one image, stride 1, no padding
  int lanes = 16;                // the channel block of src and dst
  const float* src = nullptr;    // C/lanes x h x w x lanes
  const float* kernel = nullptr; // packed: C/lanes x kh x kw x lanes
  const float* bias = nullptr;   // C values, or null
  float* dst = nullptr;          // C/lanes x oh x ow x lanes
};

// Jobs [begin, end) of (C / lanes) x oh: one output row of one channel block each.
#define RESKIT_XCORR_KERNELS(suffix) \
  void depthwise_xcorr_##suffix(const DepthwiseXCorrArgs& args, int64_t begin, int64_t end);
RESKIT_XCORR_KERNELS(avx512)
RESKIT_XCORR_KERNELS(avx2)
RESKIT_XCORR_KERNELS(portable)
#undef RESKIT_XCORR_KERNELS

#define RESKIT_DEFINE_XCORR_KERNELS(suffix, Vec)                                                       \
  void depthwise_xcorr_##suffix(const DepthwiseXCorrArgs& args, int64_t begin, int64_t end) {          \
    DepthwiseXCorr<Vec>::rows(args, begin, end);                                                       \
  }

}  // namespace reskit::engine::kernels
