// The depthwise cross-correlation written once over a vector type V (as
// winograd_impl.h): each channel of the search map correlated with the same
// channel of the kernel, a vector of channels at a time, on the blocked layout.
// An output row is made kRun outputs at a time, each an accumulator: per
// kernel tap one vector of weights, then one FMA per output with its input
// vector as the memory operand.
template <class V>
struct DepthwiseXCorr {
  using T = typename V::T;
  static constexpr int W = V::kLanes;
  static constexpr int kRun = 8;

  template <int Run>
  static void run(const DepthwiseXCorrArgs& a, const float* in, const float* k, T bias, float* out) {
    T acc[Run];
    for (int r = 0; r < Run; ++r) acc[r] = bias;
    for (int64_t ky = 0; ky < a.kh; ++ky) {
      const float* row = in + ky * a.w * W;
      for (int64_t kx = 0; kx < a.kw; ++kx) {
        const T weight = V::load(k + (ky * a.kw + kx) * W);
#pragma GCC unroll 8
        for (int r = 0; r < Run; ++r) acc[r] = V::fmadd(V::load(row + (r + kx) * W), weight, acc[r]);
      }
    }
    for (int r = 0; r < Run; ++r) V::store(out + r * W, acc[r]);
  }

  template <int Run = kRun - 1>
  static void tail(int64_t n, const DepthwiseXCorrArgs& a, const float* in, const float* k, T bias, float* out) {
    if constexpr (Run > 0) {
      if (n == Run) return run<Run>(a, in, k, bias, out);
      tail<Run - 1>(n, a, in, k, bias, out);
    }
  }

  static void rows(const DepthwiseXCorrArgs& a, int64_t begin, int64_t end) {
    for (int64_t job = begin; job < end; ++job) {
      const int64_t cb = job / a.oh, y = job % a.oh;
      const float* in = a.src + (cb * a.h + y) * a.w * W;
      const float* k = a.kernel + cb * a.kh * a.kw * W;
      float* out = a.dst + (cb * a.oh + y) * a.ow * W;
      const T bias = a.bias ? V::load(a.bias + cb * W) : V::zero();
      int64_t x = 0;
      for (; x + kRun <= a.ow; x += kRun) run<kRun>(a, in + x * W, k, bias, out + x * W);
      if (x < a.ow) tail(a.ow - x, a, in + x * W, k, bias, out + x * W);
    }
  }
};
