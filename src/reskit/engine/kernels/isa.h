#pragma once
// Which of reskit's kernel builds runs: AVX-512 (16 lanes, nChw16c), AVX2+FMA
// or portable C++ (8 lanes, nChw8c), the widest the CPU has unless
// RESKIT_MAX_CPU_ISA caps it.

namespace reskit::engine::kernels {

enum class Isa { kPortable, kAvx2, kAvx512 };
Isa best_isa();  // the widest the CPU (and its cap) allows
const char* isa_name(Isa isa);
int isa_lanes(Isa isa);  // the channel block: 16, 8, 8

}  // namespace reskit::engine::kernels
