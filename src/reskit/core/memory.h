#pragma once
// How much memory this process can still have: the kernel's MemAvailable,
// or the cgroup's limit less its use when that is lower (a container).
// Commands refuse work that needs more, with the figures, instead of being
// killed halfway.
#include <cstdint>
#include <string>

namespace reskit {

uint64_t available_memory_bytes();

// Gives what lies free in malloc's heap back to the system (glibc keeps
// it otherwise): called where large tensors were let go of, so that the
// process's peak memory is what it holds, not what it once held.
void return_freed_memory();

// "12.3 GB"
std::string gigabytes_text(uint64_t bytes);

}  // namespace reskit
