#pragma once
// AVX2+FMA's 8 floats as reskit's kernels (kernels/*_impl.h) use a vector.
// Included inside an anonymous namespace by the files compiled for this ISA
// alone: every copy is internal to its file.
struct Avx2 {
  static constexpr int kLanes = 8;
  static constexpr int kRows = 6;  // 12 accumulators of 16
  static constexpr int kDirectRows = 6;  // 12 accumulators of 16
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
  // The larger of acc and v as PyTorch's max pooling takes it: a NaN, once met, stays.
  static T max_keeping_nan(T acc, T v) {
    const T take = _mm256_or_ps(_mm256_cmp_ps(v, acc, _CMP_GT_OQ), _mm256_cmp_ps(v, v, _CMP_UNORD_Q));
    return _mm256_blendv_ps(acc, v, take);
  }
};
