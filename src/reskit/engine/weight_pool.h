#pragma once
// Weights that several plans hold once. A model's entry points compiled as
// plans of their own (SiamBAN's template and track calls) fold and reorder
// the same weights; where two plans want the same bytes in the same layout,
// the second takes the first's. Keys are the weights' content and layout,
// so the plans need not come from one module object.
#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>

namespace reskit::engine {

class WeightPool {
 public:
  // What `make` made earlier for an equal `key`, else what it makes now.
  // `bytes`: the entry's size, counted in shared_bytes() when it is reused.
  std::shared_ptr<void> get(const std::string& key, size_t bytes, const std::function<std::shared_ptr<void>()>& make);
  // The bytes plans took from the pool rather than making again.
  size_t shared_bytes() const;

 private:
  mutable std::mutex mutex_;
  std::map<std::string, std::shared_ptr<void>> entries_;
  size_t shared_bytes_ = 0;
};

// 128 bits of `bytes`' content, as hex, for a pool key.
std::string content_key(const void* data, size_t bytes);

}  // namespace reskit::engine
