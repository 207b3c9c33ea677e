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

// What this CPU can do, capped by RESKIT_MAX_CPU_ISA if it is set ("avx2",
// "avx512_core", "avx512_core_vnni", "avx512_core_amx", "generic": each level
// drops what is above it), so that every kernel path runs on a machine that
// has more. reskit's own kernels dispatch on this.
const CpuFeatures& cpu_features();

// Hands RESKIT_MAX_CPU_ISA on to oneDNN as ONEDNN_MAX_CPU_ISA (unless that is
// set), which oneDNN reads once, before its first kernel: call it first thing.
// A name it does not know is a one-line reskit::Error listing the names.
void pass_cpu_isa_cap_to_onednn();

// The widest vector ISA usable here, as oneDNN names its levels:
// "avx512_core_amx", "avx512_core_vnni", "avx512_core", "avx2", or "sse4.1/generic".
std::string cpu_isa_name(const CpuFeatures& features);

}  // namespace reskit
