#pragma once
// What the direct-convolution kernels of every ISA read: one layer's sizes,
// blocking and packed weights, in plain types. The ISA files (x86/,
// portable/) include this and nothing of LibTorch's, and it defines no
// function (see winograd_layer.h for why).
#include <cstdint>

namespace reskit::engine::kernels {

struct DirectLayer {
  // Sizes: batch, channels, input and output maps, kernel, stride, dilation, padding.
  int64_t n = 1, ic = 0, oc = 0, h = 0, w = 0, oh = 0, ow = 0;
  int64_t kh = 1, kw = 1, sh = 1, sw = 1, dh = 1, dw = 1, pad_t = 0, pad_l = 0;
  int lanes = 16;  // the channel block of src and dst
  // Each image's output pixels in `groups` groups of `rows` or one fewer:
  // one micro-kernel call's pixels. The weights go through the
  // cache once per group, each group's inputs once per panel.
  int64_t rows = 0, groups = 0;
  // A job: one panel of output channels (below), one image, `group_block`
  // groups; its reduction goes `chunk` input-channel blocks at a time, each
  // chunk of weights read from memory once for every group of the job.
  int64_t group_block = 1, chunk = 1;
  // Whether the inputs are gathered first (stage 1) into
  // A[n][group][ic / lanes][tap][rows][lanes], each row the input vector a
  // tap of that output pixel reads (zeros in the padding); a 1x1, stride-1,
  // unpadded layer reads the source as it is, its pixels already in a row.
  bool gathered = false;
  int64_t a_floats = 0;  // the gathered inputs' size
  // U[oc / (2 lanes)][ic / lanes][tap][lanes][2 lanes]: panels of two vectors
  // of output channels, in the order the micro-kernel reads them.
  const float* u = nullptr;
  const float* bias = nullptr;  // oc values (zeros where the layer has none)
  bool sum = false;             // add what dst holds (a residual)
  int activation = 0;           // 0 none, 1 ReLU, 2 LeakyReLU(alpha), 3 clip(alpha, beta)
  float alpha = 0, beta = 0;
};

// Stage 1 for jobs [begin, end) of n x groups x (ic / lanes): the gathered inputs into a.
// Stage 2 for jobs [begin, end) of (oc / 2 lanes) x n x (groups / group_block):
// one panel of output channels for a block of pixel groups, with the
// epilogue, into dst; `a` the gathered inputs, or the source itself.
#define RESKIT_DIRECT_KERNELS(suffix)                                                                            \
  void direct_gather_##suffix(const DirectLayer& layer, const float* src, float* a, int64_t begin, int64_t end); \
  void direct_compute_##suffix(const DirectLayer& layer, const float* a, float* dst, int64_t begin, int64_t end);
RESKIT_DIRECT_KERNELS(avx512)
RESKIT_DIRECT_KERNELS(avx2)
RESKIT_DIRECT_KERNELS(portable)
#undef RESKIT_DIRECT_KERNELS

// Each ISA file's definitions of its two entry points, over Direct<Vec>
// (direct_conv_impl.h), outside the file's anonymous namespace.
#define RESKIT_DEFINE_DIRECT_KERNELS(suffix, Vec)                                                                \
  void direct_gather_##suffix(const DirectLayer& layer, const float* src, float* a, int64_t begin,               \
                              int64_t end) {                                                                     \
    Direct<Vec>::gather(layer, src, a, begin, end);                                                              \
  }                                                                                                              \
  void direct_compute_##suffix(const DirectLayer& layer, const float* a, float* dst, int64_t begin, int64_t end) { \
    Direct<Vec>::compute(layer, a, dst, begin, end);                                                             \
  }

}  // namespace reskit::engine::kernels
