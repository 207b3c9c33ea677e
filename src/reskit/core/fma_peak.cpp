#include "reskit/core/fma_peak.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

#include "reskit/core/cpu_features.h"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace reskit {
namespace {

// Each returns the flops it did (2 per lane per FMA); `sink` keeps the chains alive.
// Twelve accumulators cover an FMA's latency on two ports.
#if defined(__x86_64__)
__attribute__((target("avx512f"))) double chains_avx512(int64_t iterations, float* sink) {
  __m512 acc[12];
  for (int i = 0; i < 12; ++i) acc[i] = _mm512_set1_ps(static_cast<float>(i));
  const __m512 a = _mm512_set1_ps(0.999999f), b = _mm512_set1_ps(1e-7f);
  for (int64_t it = 0; it < iterations; ++it)
    for (int i = 0; i < 12; ++i) acc[i] = _mm512_fmadd_ps(acc[i], a, b);
  for (int i = 1; i < 12; ++i) acc[0] = _mm512_add_ps(acc[0], acc[i]);
  float lanes[16];
  _mm512_storeu_ps(lanes, acc[0]);
  *sink = lanes[0];
  return static_cast<double>(iterations) * 12 * 16 * 2;
}

__attribute__((target("avx2,fma"))) double chains_avx2(int64_t iterations, float* sink) {
  __m256 acc[12];
  for (int i = 0; i < 12; ++i) acc[i] = _mm256_set1_ps(static_cast<float>(i));
  const __m256 a = _mm256_set1_ps(0.999999f), b = _mm256_set1_ps(1e-7f);
  for (int64_t it = 0; it < iterations; ++it)
    for (int i = 0; i < 12; ++i) acc[i] = _mm256_fmadd_ps(acc[i], a, b);
  for (int i = 1; i < 12; ++i) acc[0] = _mm256_add_ps(acc[0], acc[i]);
  float lanes[8];
  _mm256_storeu_ps(lanes, acc[0]);
  *sink = lanes[0];
  return static_cast<double>(iterations) * 12 * 8 * 2;
}
#endif

double chains_scalar(int64_t iterations, float* sink) {
  float acc[12];
  for (int i = 0; i < 12; ++i) acc[i] = static_cast<float>(i);
  for (int64_t it = 0; it < iterations; ++it)
    for (int i = 0; i < 12; ++i) acc[i] = acc[i] * 0.999999f + 1e-7f;
  float s = 0;
  for (float v : acc) s += v;
  *sink = s;
  return static_cast<double>(iterations) * 12 * 2;
}

double chains(int64_t iterations, float* sink) {
#if defined(__x86_64__)
  const CpuFeatures& f = cpu_features();
  if (f.avx512f) return chains_avx512(iterations, sink);
  if (f.avx2 && f.fma) return chains_avx2(iterations, sink);
#endif
  return chains_scalar(iterations, sink);
}

double measure(int threads) {
  constexpr int64_t kIterations = 400000;  // ~10-20 ms a thread at a few GHz
  double best = 0;
  for (int round = 0; round < 5; ++round) {
    // Each thread's own rate, summed: a thread that starts late does not count its wait.
    std::vector<double> rates(static_cast<size_t>(threads));
    std::vector<float> sinks(static_cast<size_t>(threads));
    std::atomic<int> ready{0};
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t)
      pool.emplace_back([&, t] {
        ++ready;
        while (ready.load() < threads) {
        }
        const auto start = std::chrono::steady_clock::now();
        const double flops = chains(kIterations, &sinks[static_cast<size_t>(t)]);
        const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        rates[static_cast<size_t>(t)] = flops / seconds / 1e9;
      });
    for (auto& t : pool) t.join();
    double total = 0;
    for (double r : rates) total += r;
    best = std::max(best, total);
  }
  return best;
}

}  // namespace

double fma_peak_gflops(int threads) {
  static std::mutex mutex;
  static std::map<int, double> measured;
  threads = std::max(threads, 1);
  std::lock_guard<std::mutex> lock(mutex);
  const auto it = measured.find(threads);
  if (it != measured.end()) return it->second;
  return measured[threads] = measure(threads);
}

}  // namespace reskit
