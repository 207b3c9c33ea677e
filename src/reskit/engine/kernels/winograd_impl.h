// The Winograd F(4x4, 3x3) kernels written once over a vector type V (one
// per ISA file: AVX-512, AVX2, portable), which provides
//   kLanes, T, zero(), set1(f), load(p), store(p, x), bcast(p), add, sub,
//   mul, fmadd(a, b, c) = a * b + c, max, min, select_positive(x, y) = x > 0 ? x : y,
// and kRows, the micro-kernel's rows (its accumulators are kRows x 2 vectors).
// Included by each ISA file inside an anonymous namespace: every copy is
// internal to its file, compiled with that file's flags only.
//
// Transforms (Lavin & Gray, points 0, 1, -1, 2, -2):
//   B^T d:  4d0 - 5d2 + d4,  -4(d1 + d2) + d3 + d4,  4(d1 - d2) + d4 - d3,
//           2(d3 - d1) + d4 - d2,  2(d1 - d3) + d4 - d2,  4d1 - 5d3 + d5
//   A^T m:  m0 + (m1 + m2) + (m3 + m4),  (m1 - m2) + 2(m3 - m4),
//           (m1 + m2) + 4(m3 + m4),  (m1 - m2) + 8(m3 - m4) + m5

#include "activation_impl.h"

template <class V>
struct Winograd {
  using T = typename V::T;
  static constexpr int W = V::kLanes;
  static constexpr int R = V::kRows;

  static void input_1d(const T d[6], T t[6]) {
    const T four = V::set1(4.f), minus_five = V::set1(-5.f), minus_four = V::set1(-4.f), two = V::set1(2.f);
    t[0] = V::fmadd(four, d[0], V::fmadd(minus_five, d[2], d[4]));
    t[1] = V::fmadd(minus_four, V::add(d[1], d[2]), V::add(d[3], d[4]));
    t[2] = V::fmadd(four, V::sub(d[1], d[2]), V::sub(d[4], d[3]));
    t[3] = V::fmadd(two, V::sub(d[3], d[1]), V::sub(d[4], d[2]));
    t[4] = V::fmadd(two, V::sub(d[1], d[3]), V::sub(d[4], d[2]));
    t[5] = V::fmadd(four, d[1], V::fmadd(minus_five, d[3], d[5]));
  }

  static void output_1d(const T m[6], T y[4]) {
    const T two = V::set1(2.f), four = V::set1(4.f), eight = V::set1(8.f);
    const T s12 = V::add(m[1], m[2]), d12 = V::sub(m[1], m[2]);
    const T s34 = V::add(m[3], m[4]), d34 = V::sub(m[3], m[4]);
    y[0] = V::add(V::add(m[0], s12), s34);
    y[1] = V::fmadd(two, d34, d12);
    y[2] = V::fmadd(four, s34, s12);
    y[3] = V::add(V::fmadd(eight, d34, d12), m[5]);
  }

  // Where tile t starts: its image and its top-left output position; its
  // outputs are then dh rows and dw columns apart (the atrous phases).
  static void tile_origin(const WinogradLayer& L, int64_t t, int64_t& n, int64_t& y, int64_t& x) {
    const int64_t per_phase = L.tiles_h * L.tiles_w, per_image = per_phase * L.dh * L.dw;
    n = t / per_image;
    const int64_t r = t - n * per_image, phase = r / per_phase, q = r - phase * per_phase;
    y = phase / L.dw + (q / L.tiles_w) * 4 * L.dh;
    x = phase % L.dw + (q % L.tiles_w) * 4 * L.dw;
  }

  static void input(const WinogradLayer& L, const float* src, float* v, int64_t begin, int64_t end) {
    const int64_t icbs = L.ic / W;
    for (int64_t job = begin; job < end; ++job) {
      const int64_t b = job / icbs, icb = job % icbs;
      for (int64_t k = 0; k < L.tile_block; ++k) {
        const int64_t t = b * L.tile_block + k;
        if (t >= L.tiles) break;
        float* out = v + (b * 36 * L.tile_block + k) * L.ic + icb * W;  // frequency f at + f * tile_block * ic
        int64_t n = 0, oy = 0, ox = 0;
        tile_origin(L, t, n, oy, ox);
        const int64_t y0 = oy - L.pad_t, x0 = ox - L.pad_l;
        const float* plane = src + (n * icbs + icb) * L.h * L.w * W;
        T d[6][6];
        const bool inside = y0 >= 0 && x0 >= 0 && y0 + 5 * L.dh < L.h && x0 + 5 * L.dw < L.w;
        for (int i = 0; i < 6; ++i)
          for (int j = 0; j < 6; ++j) {
            const int64_t y = y0 + i * L.dh, x = x0 + j * L.dw;
            d[i][j] = inside || (y >= 0 && y < L.h && x >= 0 && x < L.w) ? V::load(plane + (y * L.w + x) * W)
                                                                        : V::zero();
          }
        T cols[6][6];  // B^T d: down each column
        for (int j = 0; j < 6; ++j) {
          T column[6], transformed[6];
          for (int i = 0; i < 6; ++i) column[i] = d[i][j];
          input_1d(column, transformed);
          for (int i = 0; i < 6; ++i) cols[i][j] = transformed[i];
        }
        for (int i = 0; i < 6; ++i) {  // then (B^T d) B: along each row
          T row[6];
          input_1d(cols[i], row);
          for (int j = 0; j < 6; ++j) V::store(out + (i * 6 + j) * L.tile_block * L.ic, row[j]);
        }
      }
    }
  }

  // m[Rows][2W] = v[Rows][ic] x u[ic][2W]; rows `ldv` and `ldm` apart.
  template <int Rows>
  static void gemm_rows(const float* v, int64_t ldv, const float* u, int64_t ic, float* m, int64_t ldm) {
    T acc[Rows][2];
    for (int r = 0; r < Rows; ++r) acc[r][0] = acc[r][1] = V::zero();
    for (int64_t k = 0; k < ic; ++k) {
      const T b0 = V::load(u + k * 2 * W), b1 = V::load(u + k * 2 * W + W);
#pragma GCC unroll 16
      for (int r = 0; r < Rows; ++r) {
        const T a = V::bcast(v + r * ldv + k);
        acc[r][0] = V::fmadd(a, b0, acc[r][0]);
        acc[r][1] = V::fmadd(a, b1, acc[r][1]);
      }
    }
    for (int r = 0; r < Rows; ++r) {
      V::store(m + r * ldm, acc[r][0]);
      V::store(m + r * ldm + W, acc[r][1]);
    }
  }

  // `rows` rows: full groups of R, then the rest in one smaller kernel.
  template <int Rows = R>
  static void gemm_tail(int64_t rows, const float* v, int64_t ldv, const float* u, int64_t ic, float* m, int64_t ldm) {
    if constexpr (Rows > 0) {
      if (rows == Rows) return gemm_rows<Rows>(v, ldv, u, ic, m, ldm);
      gemm_tail<Rows - 1>(rows, v, ldv, u, ic, m, ldm);
    }
  }

  static void gemm(int64_t rows, const float* v, int64_t ldv, const float* u, int64_t ic, float* m, int64_t ldm) {
    int64_t r = 0;
    for (; r + R <= rows; r += R) gemm_rows<R>(v + r * ldv, ldv, u, ic, m + r * ldm, ldm);
    if (r < rows) gemm_tail(rows - r, v + r * ldv, ldv, u, ic, m + r * ldm, ldm);
  }

  static void output(const WinogradLayer& L, const float* v, float* m, float* dst, int64_t begin, int64_t end) {
    const int64_t chunks = L.chunks, panels = L.oc / (2 * W), chunk_panels = L.oc_chunk / (2 * W);
    const int64_t ocbs = L.oc / W;
    for (int64_t job = begin; job < end; ++job) {
      const int64_t b = job / chunks, c = job % chunks;
      const float* vb = v + b * 36 * L.tile_block * L.ic;
      // The last block may be short: only its tiles are computed.
      const int64_t rows = L.tiles - b * L.tile_block < L.tile_block ? L.tiles - b * L.tile_block : L.tile_block;
      // 36 GEMMs: (rows x ic) x (ic x oc_chunk), in panels of 2W output channels.
      for (int f = 0; f < 36; ++f)
        for (int64_t p = 0; p < chunk_panels; ++p) {
          const float* u = L.u + ((f * panels) + c * chunk_panels + p) * L.ic * 2 * W;
          gemm(rows, vb + f * L.tile_block * L.ic, L.ic, u, L.ic, m + f * L.tile_block * L.oc_chunk + p * 2 * W,
               L.oc_chunk);
        }
      // Y = A^T M A per tile and vector of output channels, then the epilogue.
      for (int64_t k = 0; k < L.tile_block; ++k) {
        const int64_t t = b * L.tile_block + k;
        if (t >= L.tiles) break;
        int64_t n = 0, oy = 0, ox = 0;
        tile_origin(L, t, n, oy, ox);
        for (int64_t q = 0; q < L.oc_chunk / W; ++q) {
          const int64_t oc = c * L.oc_chunk + q * W;
          T rows[4][6];  // A^T M: down each column
          for (int j = 0; j < 6; ++j) {
            T column[6], reduced[4];
            for (int i = 0; i < 6; ++i) column[i] = V::load(m + ((i * 6 + j) * L.tile_block + k) * L.oc_chunk + q * W);
            output_1d(column, reduced);
            for (int i = 0; i < 4; ++i) rows[i][j] = reduced[i];
          }
          const T bias = V::load(L.bias + oc);
          float* plane = dst + (n * ocbs + oc / W) * L.oh * L.ow * W;
          for (int i = 0; i < 4; ++i) {
            const int64_t y = oy + i * L.dh;
            if (y >= L.oh) break;
            T out[4];
            output_1d(rows[i], out);
            for (int j = 0; j < 4; ++j) {
              const int64_t x = ox + j * L.dw;
              if (x >= L.ow) break;
              float* at = plane + (y * L.ow + x) * W;
              T value = V::add(out[j], bias);
              if (L.sum) value = V::add(value, V::load(at));
              V::store(at, activate<V>(L.activation, L.alpha, L.beta, value));
            }
          }
        }
      }
    }
  }
};
