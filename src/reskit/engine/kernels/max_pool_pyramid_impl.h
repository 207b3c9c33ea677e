// The max-pool pyramid written once over a vector type V (as
// winograd_impl.h): per plane of one image and one block of channels, the
// source copied as the first part of the concatenation, then each level's
// k x k pool (stride 1, padding k / 2: windows cut at the border) as two
// passes, along the rows into `rows`, then down the columns into its part,
// 2k comparisons an output instead of k^2.
template <class V>
struct MaxPoolPyramid {
  using T = typename V::T;
  static constexpr int W = V::kLanes;

  // out = the k-wide max along each row of in (H x W vectors).
  static void along_rows(const MaxPoolPyramidLayer& a, const float* in, float* out, int64_t k) {
    const int64_t r = k / 2;
    for (int64_t y = 0; y < a.h; ++y) {
      const float* row = in + y * a.w * W;
      for (int64_t x = 0; x < a.w; ++x) {
        const int64_t x0 = x - r < 0 ? 0 : x - r, x1 = x + r >= a.w ? a.w - 1 : x + r;
        T m = V::load(row + x0 * W);
        for (int64_t i = x0 + 1; i <= x1; ++i) m = V::max_keeping_nan(m, V::load(row + i * W));
        V::store(out + (y * a.w + x) * W, m);
      }
    }
  }

  // out = the k-tall max down each column of in.
  static void down_columns(const MaxPoolPyramidLayer& a, const float* in, float* out, int64_t k) {
    const int64_t r = k / 2;
    for (int64_t y = 0; y < a.h; ++y) {
      const int64_t y0 = y - r < 0 ? 0 : y - r, y1 = y + r >= a.h ? a.h - 1 : y + r;
      for (int64_t x = 0; x < a.w; ++x) {
        T m = V::load(in + (y0 * a.w + x) * W);
        for (int64_t i = y0 + 1; i <= y1; ++i) m = V::max_keeping_nan(m, V::load(in + (i * a.w + x) * W));
        V::store(out + (y * a.w + x) * W, m);
      }
    }
  }

  static void planes(const MaxPoolPyramidLayer& a, float* rows, int64_t begin, int64_t end) {
    const int64_t cbs = a.channels / W, plane = a.h * a.w * W;
    for (int64_t job = begin; job < end; ++job) {
      const int64_t n = job / cbs, cb = job % cbs;
      // Part p of this plane in dst.
      const auto part = [&](int64_t p) { return a.dst + ((n * (a.levels + 1) + p) * cbs + cb) * plane; };
      const float* source = a.src + (n * cbs + cb) * plane;
      for (int64_t i = 0; i < plane; i += W) V::store(part(0) + i, V::load(source + i));
      for (int level = 0; level < a.levels; ++level) {
        along_rows(a, part(a.from[level]), rows, a.kernel[level]);
        down_columns(a, rows, part(level + 1), a.kernel[level]);
      }
    }
  }
};
