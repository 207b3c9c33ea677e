#include "weight_pool.h"

#include <cstdio>
#include <cstring>

namespace reskit::engine {

std::shared_ptr<void> WeightPool::get(const std::string& key, size_t bytes,
                                      const std::function<std::shared_ptr<void>()>& make) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = entries_.find(key);
  if (it != entries_.end()) {
    shared_bytes_ += bytes;
    return it->second;
  }
  return entries_.emplace(key, make()).first->second;
}

size_t WeightPool::shared_bytes() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return shared_bytes_;
}

namespace {

uint64_t mix(uint64_t h) {  // splitmix64's finaliser
  h ^= h >> 30;
  h *= 0xbf58476d1ce4e5b9ULL;
  h ^= h >> 27;
  h *= 0x94d049bb133111ebULL;
  return h ^ (h >> 31);
}

}  // namespace

std::string content_key(const void* data, size_t bytes) {
  // Two independent word-wise hashes: weights are megabytes, and a hash
  // that walks bytes one at a time would cost more than reordering them.
  const auto* p = static_cast<const unsigned char*>(data);
  uint64_t a = 0x9e3779b97f4a7c15ULL ^ bytes, b = 0xc2b2ae3d27d4eb4fULL + bytes;
  size_t i = 0;
  for (; i + 8 <= bytes; i += 8) {
    uint64_t w;
    std::memcpy(&w, p + i, 8);
    a = (a ^ w) * 0x100000001b3ULL;
    a ^= a >> 29;
    b = mix(b + w);
  }
  for (; i < bytes; ++i) {
    a = (a ^ p[i]) * 0x100000001b3ULL;
    b = mix(b + p[i]);
  }
  char text[33];
  std::snprintf(text, sizeof text, "%016llx%016llx", static_cast<unsigned long long>(mix(a)),
                static_cast<unsigned long long>(b));
  return text;
}

}  // namespace reskit::engine
