#pragma once
// 8 floats in plain loops, which the compiler maps to what the target offers,
// as reskit's kernels (kernels/*_impl.h) use a vector.
// Included inside an anonymous namespace by the files compiled for this ISA
// alone: every copy is internal to its file.
struct Portable {
  static constexpr int kLanes = 8;
  static constexpr int kRows = 4;
  static constexpr int kDirectRows = 4;
  struct T {
    float v[8];
  };
  template <class F>
  static T map(F f) {
    T r;
    for (int i = 0; i < 8; ++i) r.v[i] = f(i);
    return r;
  }
  static T zero() { return map([](int) { return 0.f; }); }
  static T set1(float f) { return map([f](int) { return f; }); }
  static T load(const float* p) { return map([p](int i) { return p[i]; }); }
  static void store(float* p, T x) {
    for (int i = 0; i < 8; ++i) p[i] = x.v[i];
  }
  static T bcast(const float* p) { return set1(*p); }
  static T add(T a, T b) { return map([&](int i) { return a.v[i] + b.v[i]; }); }
  static T sub(T a, T b) { return map([&](int i) { return a.v[i] - b.v[i]; }); }
  static T mul(T a, T b) { return map([&](int i) { return a.v[i] * b.v[i]; }); }
  static T fmadd(T a, T b, T c) { return map([&](int i) { return a.v[i] * b.v[i] + c.v[i]; }); }
  static T max(T a, T b) { return map([&](int i) { return a.v[i] > b.v[i] ? a.v[i] : b.v[i]; }); }
  static T min(T a, T b) { return map([&](int i) { return a.v[i] < b.v[i] ? a.v[i] : b.v[i]; }); }
  static T select_positive(T x, T y) { return map([&](int i) { return x.v[i] > 0 ? x.v[i] : y.v[i]; }); }
  // The larger of acc and v as PyTorch's max pooling takes it: a NaN, once met, stays.
  static T max_keeping_nan(T acc, T v) {
    return map([&](int i) { return v.v[i] > acc.v[i] || v.v[i] != v.v[i] ? v.v[i] : acc.v[i]; });
  }
};
