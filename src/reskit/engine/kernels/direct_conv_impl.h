// The direct convolution kernels written once over a vector type V (one per
// ISA file: AVX-512, AVX2, portable), which provides what winograd_impl.h
// lists and kDirectRows, the micro-kernel's pixels (its accumulators are
// kDirectRows x 2 vectors of output channels).
// Included by each ISA file inside an anonymous namespace: every copy is
// internal to its file, compiled with that file's flags only.
//
// The micro-kernel holds a group of output pixels x two vectors of output
// channels in registers for the whole reduction (input channels x taps):
// per input channel it loads two weight vectors and broadcasts one input per
// pixel, so each weight read from memory feeds `rows` pixels. At 7x7 and
// 14x14 that is what the layer is short of: its weights are the data, its
// inputs fit in L2.

#include "activation_impl.h"

template <class V>
struct Direct {
  using T = typename V::T;
  static constexpr int W = V::kLanes;
  static constexpr int R = V::kDirectRows;

  static int64_t taps(const DirectLayer& L) { return L.kh * L.kw; }

  // Group g's first pixel and pixel count: as even as they can be (49
  // pixels in 9 groups: 4 of 6 and 5 of 5, never a last group of one, whose
  // two accumulator chains would leave the FMA units waiting).
  static int64_t group_start(const DirectLayer& L, int64_t g) {
    const int64_t pixels = L.oh * L.ow, base = pixels / L.groups, extra = pixels % L.groups;
    return g * base + (g < extra ? g : extra);
  }
  static int64_t group_count(const DirectLayer& L, int64_t g) {
    const int64_t pixels = L.oh * L.ow;
    return pixels / L.groups + (g < pixels % L.groups ? 1 : 0);
  }

  static void gather(const DirectLayer& L, const float* src, float* a, int64_t begin, int64_t end) {
    const int64_t icbs = L.ic / W, tap_count = taps(L);
    for (int64_t job = begin; job < end; ++job) {
      const int64_t icb = job % icbs, image_group = job / icbs;
      const int64_t img = image_group / L.groups, g = image_group % L.groups;
      const int64_t p0 = group_start(L, g), count = group_count(L, g);
      const float* plane = src + (img * icbs + icb) * L.h * L.w * W;
      float* out = a + (image_group * icbs + icb) * tap_count * L.rows * W;
      for (int64_t ky = 0; ky < L.kh; ++ky)
        for (int64_t kx = 0; kx < L.kw; ++kx, out += L.rows * W)
          for (int64_t r = 0; r < count; ++r) {
            const int64_t p = p0 + r, y = (p / L.ow) * L.sh - L.pad_t + ky * L.dh,
                          x = (p % L.ow) * L.sw - L.pad_l + kx * L.dw;
            const bool inside = y >= 0 && y < L.h && x >= 0 && x < L.w;
            V::store(out + r * W, inside ? V::load(plane + (y * L.w + x) * W) : V::zero());
          }
    }
  }

  // Rows pixels from p0 (rows W apart in `a`, the next tap tap_stride on,
  // the next input-channel block icb_stride on), the panel's output channels
  // from oc0 (weights u), input-channel blocks [icb0, icb1): the sum so far
  // is in dst, between chunks; the first chunk starts from the bias (and the
  // residual dst holds), the last applies the activation. `ahead` > 0: the
  // weights that many floats on are asked for (into L2) as these are read,
  // so that memory streams them while the job's other groups run.
  // The accumulators stay in registers only if every loop over them is
  // unrolled and none passes them by address: vector types may alias floats,
  // so the compiler would otherwise store them back at every step.
  template <int Rows>
  static void pixels(const DirectLayer& L, const float* a, int64_t icb_stride, int64_t tap_stride, const float* u,
                     float* dst, int64_t img, int64_t p0, int64_t oc0, int64_t icb0, int64_t icb1, int64_t ahead) {
    const int64_t pixels_out = L.oh * L.ow, ocbs = L.oc / W, tap_count = taps(L);
    float* const plane0 = dst + ((img * ocbs + oc0 / W) * pixels_out + p0) * W;
    float* const plane1 = plane0 + pixels_out * W;
    T acc0[Rows], acc1[Rows];
    const T bias0 = V::load(L.bias + oc0), bias1 = V::load(L.bias + oc0 + W);
#pragma GCC unroll 16
    for (int r = 0; r < Rows; ++r) {
      if (icb0 > 0) {
        acc0[r] = V::load(plane0 + r * W);
        acc1[r] = V::load(plane1 + r * W);
      } else if (L.sum) {
        acc0[r] = V::add(V::load(plane0 + r * W), bias0);
        acc1[r] = V::add(V::load(plane1 + r * W), bias1);
      } else {
        acc0[r] = bias0;
        acc1[r] = bias1;
      }
    }
    u += icb0 * tap_count * W * 2 * W;
    const float* prefetch = ahead > 0 ? u + ahead : nullptr;
    for (int64_t icb = icb0; icb < icb1; ++icb)
      for (int64_t tap = 0; tap < tap_count; ++tap) {
        const float* at = a + icb * icb_stride + tap * tap_stride;
        if (prefetch) {  // the W x 2W floats this tap reads, a cache line at a time
          for (int line = 0; line < 2 * W * W; line += 16) __builtin_prefetch(prefetch + line, 0, 2);
          prefetch += 2 * W * W;
        }
        for (int i = 0; i < W; ++i, u += 2 * W) {
          const T b0 = V::load(u), b1 = V::load(u + W);
#pragma GCC unroll 16
          for (int r = 0; r < Rows; ++r) {
            const T x = V::bcast(at + r * W + i);
            acc0[r] = V::fmadd(x, b0, acc0[r]);
            acc1[r] = V::fmadd(x, b1, acc1[r]);
          }
        }
      }
    const bool last = icb1 == L.ic / W;
#pragma GCC unroll 16
    for (int r = 0; r < Rows; ++r) {
      V::store(plane0 + r * W, last ? activate<V>(L.activation, L.alpha, L.beta, acc0[r]) : acc0[r]);
      V::store(plane1 + r * W, last ? activate<V>(L.activation, L.alpha, L.beta, acc1[r]) : acc1[r]);
    }
  }

  // `count` pixels: the kernel of that many rows (count <= R).
  template <int Rows = R>
  static void pixels_tail(int64_t count, const DirectLayer& L, const float* a, int64_t icb_stride, int64_t tap_stride,
                          const float* u, float* dst, int64_t img, int64_t p0, int64_t oc0, int64_t icb0, int64_t icb1,
                          int64_t ahead) {
    if constexpr (Rows > 0) {
      if (count == Rows) return pixels<Rows>(L, a, icb_stride, tap_stride, u, dst, img, p0, oc0, icb0, icb1, ahead);
      pixels_tail<Rows - 1>(count, L, a, icb_stride, tap_stride, u, dst, img, p0, oc0, icb0, icb1, ahead);
    }
  }

  // Per job (a panel of output channels, an image, a block of pixel groups):
  // chunk by chunk of input channels, every group of the block, so that each
  // chunk of the panel's weights is read from memory once and then from L1.
  static void compute(const DirectLayer& L, const float* a, float* dst, int64_t begin, int64_t end) {
    const int64_t icbs = L.ic / W, pixels_out = L.oh * L.ow, tap_count = taps(L);
    const int64_t group_blocks = (L.groups + L.group_block - 1) / L.group_block;
    const int64_t per_panel = L.n * group_blocks, panel_floats = icbs * tap_count * W * 2 * W;
    const int64_t icb_stride = L.gathered ? tap_count * L.rows * W : pixels_out * W;
    const int64_t tap_stride = L.gathered ? L.rows * W : 0;
    for (int64_t job = begin; job < end; ++job) {
      const int64_t panel = job / per_panel, img = job % per_panel / group_blocks, gb = job % group_blocks;
      const int64_t g_end = (gb + 1) * L.group_block < L.groups ? (gb + 1) * L.group_block : L.groups;
      const float* u = L.u + panel * panel_floats;
      for (int64_t icb0 = 0; icb0 < icbs; icb0 += L.chunk) {
        const int64_t icb1 = icb0 + L.chunk < icbs ? icb0 + L.chunk : icbs;
        for (int64_t g = gb * L.group_block; g < g_end; ++g) {
          const int64_t p0 = group_start(L, g), count = group_count(L, g);
          const float* at = L.gathered ? a + (img * L.groups + g) * icbs * tap_count * L.rows * W
                                       : a + (img * icbs * pixels_out + p0) * W;
          // The block's first group asks for the weights two chunks on (the next panel's past the end).
          const int64_t ahead = g == gb * L.group_block ? 2 * L.chunk * tap_count * W * 2 * W : 0;
          pixels_tail(count, L, at, icb_stride, tap_stride, u, dst, img, p0, panel * 2 * W, icb0, icb1, ahead);
        }
      }
    }
  }
};
