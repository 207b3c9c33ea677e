#pragma once
// The float32 multiply-add throughput this machine delivers, measured: each
// of `threads` threads runs independent FMA chains in the widest vector ISA
// cpu_features() allows (AVX-512, AVX2+FMA, else scalar), and the best of a
// few ~10 ms rounds counts. Measured once per thread count per process. It is
// the "peak" that `reskit bench` reports percentages of: threads that share a
// core's FMA units (hyperthreads) measure that core's units, as they should.
namespace reskit {

double fma_peak_gflops(int threads);

}  // namespace reskit
