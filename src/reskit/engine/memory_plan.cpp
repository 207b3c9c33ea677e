#include "memory_plan.h"

#include <algorithm>
#include <numeric>

namespace reskit::engine {

MemoryPlan plan_memory(const std::vector<BufferLifetime>& buffers) {
  const auto aligned = [](size_t bytes) { return (bytes + kAlignment - 1) / kAlignment * kAlignment; };
  MemoryPlan plan;
  plan.offsets.assign(buffers.size(), 0);
  std::vector<size_t> order(buffers.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return buffers[a].bytes > buffers[b].bytes; });

  std::vector<size_t> placed;
  for (size_t b : order) {
    const BufferLifetime& me = buffers[b];
    // The regions of placed buffers alive at the same time, by offset.
    std::vector<std::pair<size_t, size_t>> taken;
    for (size_t p : placed) {
      const BufferLifetime& other = buffers[p];
      if (other.last < me.first || me.last < other.first) continue;
      taken.emplace_back(plan.offsets[p], plan.offsets[p] + aligned(other.bytes));
    }
    std::sort(taken.begin(), taken.end());
    size_t offset = 0;
    for (const auto& [begin, end] : taken) {
      if (offset + aligned(me.bytes) <= begin) break;
      offset = std::max(offset, end);
    }
    plan.offsets[b] = offset;
    plan.arena_bytes = std::max(plan.arena_bytes, offset + aligned(me.bytes));
    placed.push_back(b);
  }

  int64_t steps = 0;
  for (const BufferLifetime& b : buffers) steps = std::max(steps, b.last + 1);
  std::vector<size_t> live(static_cast<size_t>(steps), 0);
  for (const BufferLifetime& b : buffers)
    for (int64_t s = b.first; s <= b.last; ++s) live[static_cast<size_t>(s)] += aligned(b.bytes);
  for (size_t l : live) plan.peak_live_bytes = std::max(plan.peak_live_bytes, l);
  return plan;
}

}  // namespace reskit::engine
