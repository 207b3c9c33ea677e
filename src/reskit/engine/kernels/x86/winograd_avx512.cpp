// The Winograd kernels with AVX-512 (16 lanes, nChw16c): compiled with
// -mavx512f/bw/vl/dq -mfma (CMakeLists.txt) and called only where the CPU has them.
#include <immintrin.h>

#include "../winograd_layer.h"

namespace reskit::engine::kernels {
namespace {

struct Avx512 {
  static constexpr int kLanes = 16;
  static constexpr int kRows = 8;  // 16 accumulators of 32
  using T = __m512;
  static T zero() { return _mm512_setzero_ps(); }
  static T set1(float f) { return _mm512_set1_ps(f); }
  static T load(const float* p) { return _mm512_loadu_ps(p); }
  static void store(float* p, T x) { _mm512_storeu_ps(p, x); }
  static T bcast(const float* p) { return _mm512_set1_ps(*p); }
  static T add(T a, T b) { return _mm512_add_ps(a, b); }
  static T sub(T a, T b) { return _mm512_sub_ps(a, b); }
  static T mul(T a, T b) { return _mm512_mul_ps(a, b); }
  static T fmadd(T a, T b, T c) { return _mm512_fmadd_ps(a, b, c); }
  static T max(T a, T b) { return _mm512_max_ps(a, b); }
  static T min(T a, T b) { return _mm512_min_ps(a, b); }
  static T select_positive(T x, T y) {
    return _mm512_mask_blend_ps(_mm512_cmp_ps_mask(x, _mm512_setzero_ps(), _CMP_GT_OQ), y, x);
  }
};

#include "../winograd_impl.h"

}  // namespace

RESKIT_DEFINE_WINOGRAD_KERNELS(avx512, Avx512)

}  // namespace reskit::engine::kernels
