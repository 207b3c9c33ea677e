// The Winograd kernels in portable C++ (8 lanes, nChw8c), for CPUs without
// AVX2: plain loops over 8 floats, which the compiler maps to what the
// baseline x86-64 (SSE2) or any other target offers.
#include "../winograd_layer.h"

namespace reskit::engine::kernels {
namespace {

struct Portable {
  static constexpr int kLanes = 8;
  static constexpr int kRows = 4;
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
};

#include "../winograd_impl.h"

}  // namespace

RESKIT_DEFINE_WINOGRAD_KERNELS(portable, Portable)

}  // namespace reskit::engine::kernels
