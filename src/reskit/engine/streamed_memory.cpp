#include "streamed_memory.h"

#include <cstdlib>
#include <new>

#ifdef __linux__
#include <sys/mman.h>
#endif

namespace reskit::engine {

namespace {
constexpr size_t kHugePage = size_t{2} << 20;
constexpr size_t kCacheLine = 64;
}  // namespace

std::shared_ptr<std::byte> allocate_streamed(size_t bytes) {
  const bool huge = bytes >= kHugePage;
  void* p = nullptr;
  if (posix_memalign(&p, huge ? kHugePage : kCacheLine, bytes > 0 ? bytes : 1) != 0) throw std::bad_alloc();
#ifdef MADV_HUGEPAGE
  // Whole huge pages only: a tail rounded up would be resident memory that
  // holds nothing. Advice the kernel declines leaves ordinary pages.
  if (huge) madvise(p, bytes / kHugePage * kHugePage, MADV_HUGEPAGE);
#endif
  return {static_cast<std::byte*>(p), [](std::byte* q) { std::free(q); }};
}

}  // namespace reskit::engine
