#include "reskit/core/cpu_features.h"

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>

#include "reskit/core/error.h"

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#define RESKIT_X86 1
#endif

namespace reskit {
namespace {

#ifdef RESKIT_X86
bool bit(uint32_t value, int index) { return (value >> index) & 1u; }

uint64_t xgetbv0() {
  uint32_t eax = 0, edx = 0;
  __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
  return (static_cast<uint64_t>(edx) << 32) | eax;
}
#endif

std::string model_name() {
  std::ifstream in("/proc/cpuinfo");
  for (std::string line; std::getline(in, line);)
    if (line.rfind("model name", 0) == 0 && line.find(':') != std::string::npos) {
      std::string name = line.substr(line.find(':') + 1);
      return name.substr(name.find_first_not_of(' '));
    }
  return "";
}

CpuFeatures detect() {
  CpuFeatures f;
  f.model_name = model_name();
#ifdef RESKIT_X86
  uint32_t a = 0, b = 0, c = 0, d = 0;
  if (!__get_cpuid(0, &a, &b, &c, &d)) return f;
  const uint32_t max_leaf = a;
  char vendor[13] = {};
  std::memcpy(vendor, &b, 4);
  std::memcpy(vendor + 4, &d, 4);
  std::memcpy(vendor + 8, &c, 4);
  f.vendor = vendor;
  __get_cpuid(1, &a, &b, &c, &d);
  const bool osxsave = bit(c, 27), fma = bit(c, 12);
  if (!osxsave || max_leaf < 7) return f;
  // The OS must save the YMM (bits 1-2), ZMM (5-7) and AMX tile (17-18) state.
  const uint64_t xcr0 = xgetbv0();
  const bool ymm = (xcr0 & 0x6) == 0x6, zmm = ymm && (xcr0 & 0xe0) == 0xe0, tiles = (xcr0 & 0x60000) == 0x60000;
  __cpuid_count(7, 0, a, b, c, d);
  const uint32_t leaf7_max_sub = a;
  f.avx2 = ymm && bit(b, 5);
  f.fma = ymm && fma;
  f.avx512f = zmm && bit(b, 16);
  f.avx512bw = zmm && bit(b, 30);
  f.avx512vl = zmm && bit(b, 31);
  f.avx512_vnni = zmm && bit(c, 11);
  f.avx512_fp16 = zmm && bit(d, 23);
  f.amx_bf16 = tiles && bit(d, 22);
  f.amx_tile = tiles && bit(d, 24);
  f.amx_int8 = tiles && bit(d, 25);
  if (leaf7_max_sub >= 1) {
    __cpuid_count(7, 1, a, b, c, d);
    f.avx512_bf16 = zmm && bit(a, 5);
  }
#endif
  return f;
}

// The levels RESKIT_MAX_CPU_ISA names, lowest first, and oneDNN's name of each.
struct IsaLevel {
  const char* name;
  const char* onednn;
};
constexpr IsaLevel kLevels[] = {{"generic", "SSE41"},
                                {"avx2", "AVX2"},
                                {"avx512_core", "AVX512_CORE"},
                                {"avx512_core_vnni", "AVX512_CORE_VNNI"},
                                {"avx512_core_amx", "AVX512_CORE_AMX"}};

// The cap's level, or -1 for none (unset or a name not listed).
int cap_level() {
  const char* cap = std::getenv("RESKIT_MAX_CPU_ISA");
  if (!cap) return -1;
  for (int i = 0; i < static_cast<int>(std::size(kLevels)); ++i)
    if (std::strcmp(cap, kLevels[i].name) == 0) return i;
  return -1;
}

CpuFeatures capped(CpuFeatures f, int level) {
  if (level < 0) return f;
  if (level < 4) f.amx_tile = f.amx_bf16 = f.amx_int8 = false;
  if (level < 3) f.avx512_vnni = f.avx512_bf16 = f.avx512_fp16 = false;
  if (level < 2) f.avx512f = f.avx512bw = f.avx512vl = false;
  if (level < 1) f.avx2 = f.fma = false;
  return f;
}

}  // namespace

const CpuFeatures& cpu_features() {
  static const CpuFeatures features = capped(detect(), cap_level());
  return features;
}

void pass_cpu_isa_cap_to_onednn() {
  const char* cap = std::getenv("RESKIT_MAX_CPU_ISA");
  const int level = cap_level();
  if (cap && level < 0) {
    std::string names;
    for (const IsaLevel& l : kLevels) names += (names.empty() ? "" : ", ") + std::string(l.name);
    throw Error("RESKIT_MAX_CPU_ISA must be one of " + names + ", got '" + cap + "'");
  }
  if (level >= 0 && !std::getenv("ONEDNN_MAX_CPU_ISA")) setenv("ONEDNN_MAX_CPU_ISA", kLevels[level].onednn, 0);
}

std::string cpu_isa_name(const CpuFeatures& f) {
  const bool avx512 = f.avx512f && f.avx512bw && f.avx512vl;
  if (avx512 && f.amx_tile && f.amx_bf16) return "avx512_core_amx";
  if (avx512 && f.avx512_vnni) return "avx512_core_vnni";
  if (avx512) return "avx512_core";
  if (f.avx2 && f.fma) return "avx2";
  return "sse4.1/generic";
}

}  // namespace reskit
