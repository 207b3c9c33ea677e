#pragma once
// Where each buffer of a plan lives in its arena: buffers whose lifetimes
// (first to last step that touches them) overlap get disjoint regions, the
// others share. Greedy by size, largest first, each at the lowest offset
// that fits: the arena is close to the largest set of buffers alive at once.
#include <cstddef>
#include <cstdint>
#include <vector>

namespace reskit::engine {

struct BufferLifetime {
  size_t bytes = 0;
  int64_t first = 0, last = 0;  // step indices, inclusive
};

struct MemoryPlan {
  std::vector<size_t> offsets;  // per buffer, a multiple of kAlignment
  size_t arena_bytes = 0;
  size_t peak_live_bytes = 0;   // the most bytes alive at one step: the lower bound of any placement
};

constexpr size_t kAlignment = 64;  // a cache line, and AVX-512's vector

MemoryPlan plan_memory(const std::vector<BufferLifetime>& buffers);

}  // namespace reskit::engine
