#pragma once
// AVX-512's 16 floats as reskit's kernels (kernels/*_impl.h) use a vector.
// Included inside an anonymous namespace by the files compiled for this ISA
// alone: every copy is internal to its file.
// GCC 12 takes the undefined pass-through operand of _mm512_max_ps's and
// _mm512_min_ps's masked builtins for an uninitialised read wherever they
// are inlined (a false positive); this header's files are kernels only.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

struct Avx512 {
  static constexpr int kLanes = 16;
  static constexpr int kRows = 8;  // 16 accumulators of 32
  static constexpr int kDirectRows = 14;  // 28 accumulators of 32
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
  // The larger of acc and v as PyTorch's max pooling takes it: a NaN, once met, stays.
  static T max_keeping_nan(T acc, T v) {
    const __mmask16 take = _mm512_cmp_ps_mask(v, acc, _CMP_GT_OQ) | _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q);
    return _mm512_mask_blend_ps(take, acc, v);
  }
};
