#include "reskit/core/memory.h"

#include <ATen/record_function.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <limits>
#if defined(__GLIBC__)
#include <malloc.h>
#endif
#include <sstream>

namespace reskit {
namespace {

// A number in a file, or `fallback` ("max" and unreadable files alike).
uint64_t read_number(const std::string& path, uint64_t fallback) {
  std::ifstream in(path);
  uint64_t value = 0;
  return in >> value ? value : fallback;
}

uint64_t meminfo_available() {
  std::ifstream in("/proc/meminfo");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("MemAvailable:", 0) != 0) continue;
    std::istringstream fields(line.substr(13));
    uint64_t kib = 0;
    if (fields >> kib) return kib * 1024;
  }
  return std::numeric_limits<uint64_t>::max();
}

}  // namespace

void return_freed_memory() {
#if defined(__GLIBC__)
  malloc_trim(0);
#endif
}

TrimHeapAfterEachOp::TrimHeapAfterEachOp()
    : handle_(at::addThreadLocalCallback(
          at::RecordFunctionCallback([](const at::RecordFunction&) -> std::unique_ptr<at::ObserverContext> { return nullptr; },
                                     [](const at::RecordFunction&, at::ObserverContext*) { return_freed_memory(); })
              .scopes({at::RecordScope::FUNCTION}))) {}

TrimHeapAfterEachOp::~TrimHeapAfterEachOp() { at::removeCallback(handle_); }

uint64_t available_memory_bytes() {
  constexpr uint64_t kUnlimited = std::numeric_limits<uint64_t>::max();
  uint64_t available = meminfo_available();
  const uint64_t limit = read_number("/sys/fs/cgroup/memory.max", kUnlimited);
  if (limit != kUnlimited) {
    const uint64_t used = read_number("/sys/fs/cgroup/memory.current", 0);
    available = std::min(available, limit > used ? limit - used : 0);
  }
  return available;
}

std::string gigabytes_text(uint64_t bytes) {
  char text[32];
  std::snprintf(text, sizeof text, "%.1f GB", static_cast<double>(bytes) / 1e9);
  return text;
}

}  // namespace reskit
