#pragma once
// A counter-based random stream: every draw is a pure function of a key
// (seed, epoch, item, purpose...) and the draw's number, so which thread makes
// it, in which order, and whether the run was resumed change nothing, and the
// same bytes come out on every machine (no library's distribution details).
// The mixing is splitmix64's (Steele, Lea & Flood, "Fast splittable
// pseudorandom number generators", 2014): each key word is folded in through
// the finaliser, then draws walk splitmix64's sequence from there.
#include <cstdint>
#include <initializer_list>

namespace reskit {

constexpr uint64_t kGoldenGamma = 0x9e3779b97f4a7c15ULL;

inline uint64_t mix64(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

class CounterRng {
 public:
  explicit CounterRng(std::initializer_list<uint64_t> key) {
    for (uint64_t word : key) state_ = mix64(state_ + kGoldenGamma + word);
  }
  uint64_t next() { return mix64(state_ += kGoldenGamma); }
  // [0, 1) with 53 random bits.
  double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
  double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }
  // 0 .. n-1 without modulo bias (rejection of the short last range); n >= 1.
  uint64_t below(uint64_t n) {
    const uint64_t reject_under = (0 - n) % n;  // 2^64 mod n
    for (;;) {
      const uint64_t r = next();
      if (r >= reject_under) return r % n;
    }
  }
  // lo .. hi inclusive.
  int64_t between(int64_t lo, int64_t hi) {
    return lo + static_cast<int64_t>(below(static_cast<uint64_t>(hi - lo) + 1));
  }
  bool chance(double p) { return uniform() < p; }

 private:
  uint64_t state_ = 0;
};

}  // namespace reskit
