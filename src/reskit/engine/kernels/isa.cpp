#include "isa.h"

#include "reskit/core/cpu_features.h"

namespace reskit::engine::kernels {

Isa best_isa() {
#if RESKIT_X86_KERNELS
  const CpuFeatures& f = cpu_features();
  if (f.avx512f && f.avx512bw && f.avx512vl && f.fma) return Isa::kAvx512;
  if (f.avx2 && f.fma) return Isa::kAvx2;
#endif
  return Isa::kPortable;
}

const char* isa_name(Isa isa) {
  switch (isa) {
    case Isa::kAvx512: return "avx512";
    case Isa::kAvx2: return "avx2";
    case Isa::kPortable: return "portable";
  }
  return "";
}

int isa_lanes(Isa isa) { return isa == Isa::kAvx512 ? 16 : 8; }

}  // namespace reskit::engine::kernels
