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

// While one is alive, this thread gives malloc's free pages back after each
// ATen op it runs. A forward run only to be traced or summarised frees as it
// goes, and glibc would keep the fragments resident (about 60 MB for
// resnet50), which would be the process's peak.
class TrimHeapAfterEachOp {
 public:
  TrimHeapAfterEachOp();
  ~TrimHeapAfterEachOp();
  TrimHeapAfterEachOp(const TrimHeapAfterEachOp&) = delete;
  TrimHeapAfterEachOp& operator=(const TrimHeapAfterEachOp&) = delete;

 private:
  uint64_t handle_;
};

// "12.3 GB"
std::string gigabytes_text(uint64_t bytes);

}  // namespace reskit
