#pragma once
// What the CPU reskit runs on can do, read once with CPUID (x86-64) and
// checked against what the OS saves on a context switch (XGETBV): ISA-specific
// code is chosen at run time from this, never at build time.
#include <string>

namespace reskit {

struct CpuFeatures {
  bool avx2 = false, fma = false;
  bool avx512f = false, avx512bw = false, avx512vl = false;  // "AVX-512" below means all three
  bool avx512_vnni = false, avx512_bf16 = false, avx512_fp16 = false;
  bool amx_tile = false, amx_bf16 = false, amx_int8 = false;
  std::string vendor, model_name;
};

const CpuFeatures& cpu_features();

// The widest vector ISA usable here, as oneDNN names its levels:
// "avx512_core_amx", "avx512_core_vnni", "avx512_core", "avx2", or "sse4.1/generic".
std::string cpu_isa_name(const CpuFeatures& features);

}  // namespace reskit
