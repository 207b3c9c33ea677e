#pragma once
// What the Winograd kernels of every ISA read: one layer's sizes, blocking
// and transformed weights, in plain types. The ISA files (x86/, portable/)
// include this and nothing of LibTorch's, and it defines no function, so that
// no inline function of a shared header is compiled with AVX-512 flags and
// picked by the linker for the rest of the library.
#include <cstddef>
#include <cstdint>

namespace reskit::engine::kernels {

struct WinogradLayer {
  // Sizes: batch, channels, input and output maps, padding.
  int64_t n = 1, ic = 0, oc = 0, h = 0, w = 0, oh = 0, ow = 0, pad_t = 0, pad_l = 0;
  int64_t dh = 1, dw = 1;  // dilation: the phases (dh x dw of them) and the step within one
  int lanes = 16;  // the channel block of src and dst
  // Tiles of 4x4 outputs (6x6 inputs) of one phase (tiles_h x tiles_w per
  // phase, the first phase's count: the others' may end in a part tile or
  // one wholly outside, which writes nothing), grouped in blocks of `tile_block`;
  // output channels in chunks of `oc_chunk` (a multiple of 2 x lanes).
  int64_t tiles_h = 0, tiles_w = 0, tiles = 0, tile_block = 0, blocks = 0, oc_chunk = 0;
  // U[36][oc / (2 lanes)][ic][2 lanes]: each frequency's weights in panels of
  // two vectors of output channels, the micro-kernel's loads.
  const float* u = nullptr;
  const float* bias = nullptr;  // oc values (zeros where the layer has none)
  bool sum = false;             // add what dst holds (a residual)
  int activation = 0;           // 0 none, 1 ReLU, 2 LeakyReLU(alpha), 3 clip(alpha, beta)
  float alpha = 0, beta = 0;

  int64_t chunks = 0;  // oc / oc_chunk
  // Stage 1 writes V[blocks][36][tile_block][ic]; each stage-2 job's M is [36][tile_block][oc_chunk].
  int64_t v_floats = 0, m_floats = 0;
};

// Stage 1 for jobs [begin, end) of blocks x (ic / lanes): the input tiles' transforms into v.
// Stage 2 for jobs [begin, end) of blocks x chunks: the GEMMs into m (this thread's), then the
// output transforms into dst.
#define RESKIT_WINOGRAD_KERNELS(suffix)                                                                 \
  void winograd_input_##suffix(const WinogradLayer& layer, const float* src, float* v, int64_t begin, \
                               int64_t end);                                                          \
  void winograd_output_##suffix(const WinogradLayer& layer, const float* v, float* m, float* dst,     \
                                int64_t begin, int64_t end);
RESKIT_WINOGRAD_KERNELS(avx512)
RESKIT_WINOGRAD_KERNELS(avx2)
RESKIT_WINOGRAD_KERNELS(portable)
#undef RESKIT_WINOGRAD_KERNELS

// Each ISA file's definitions of its two entry points, over Winograd<Vec>
// (winograd_impl.h), outside the file's anonymous namespace.
#define RESKIT_DEFINE_WINOGRAD_KERNELS(suffix, Vec)                                                        \
  void winograd_input_##suffix(const WinogradLayer& layer, const float* src, float* v, int64_t begin,    \
                               int64_t end) {                                                            \
    Winograd<Vec>::input(layer, src, v, begin, end);                                                     \
  }                                                                                                      \
  void winograd_output_##suffix(const WinogradLayer& layer, const float* v, float* m, float* dst,        \
                                int64_t begin, int64_t end) {                                            \
    Winograd<Vec>::output(layer, v, m, dst, begin, end);                                                 \
  }

}  // namespace reskit::engine::kernels
