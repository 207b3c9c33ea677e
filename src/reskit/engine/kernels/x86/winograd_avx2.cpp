// The Winograd kernels with AVX2 + FMA (8 lanes, nChw8c): compiled with
// -mavx2 -mfma (CMakeLists.txt) and called only where the CPU has them.
#include <immintrin.h>

#include "../winograd_layer.h"

namespace reskit::engine::kernels {
namespace {

struct Avx2 {
  static constexpr int kLanes = 8;
  static constexpr int kRows = 6;  // 12 accumulators of 16
  using T = __m256;
  static T zero() { return _mm256_setzero_ps(); }
  static T set1(float f) { return _mm256_set1_ps(f); }
  static T load(const float* p) { return _mm256_loadu_ps(p); }
  static void store(float* p, T x) { _mm256_storeu_ps(p, x); }
  static T bcast(const float* p) { return _mm256_broadcast_ss(p); }
  static T add(T a, T b) { return _mm256_add_ps(a, b); }
  static T sub(T a, T b) { return _mm256_sub_ps(a, b); }
  static T mul(T a, T b) { return _mm256_mul_ps(a, b); }
  static T fmadd(T a, T b, T c) { return _mm256_fmadd_ps(a, b, c); }
  static T max(T a, T b) { return _mm256_max_ps(a, b); }
  static T min(T a, T b) { return _mm256_min_ps(a, b); }
  static T select_positive(T x, T y) { return _mm256_blendv_ps(y, x, _mm256_cmp_ps(x, _mm256_setzero_ps(), _CMP_GT_OQ)); }
};

#include "../winograd_impl.h"

}  // namespace

RESKIT_DEFINE_WINOGRAD_KERNELS(avx2, Avx2)

}  // namespace reskit::engine::kernels
