#pragma once
// Image classification on top of any model that returns logits.
#include <ATen/core/Tensor.h>

#include <string>
#include <vector>

namespace reskit::tasks {

struct Prediction {
  int64_t index;
  double probability;
  std::string label;  // the class name, or the index when no names are known
};

// Softmax over the last dimension of one row of logits, best k first.
std::vector<Prediction> top_k(const at::Tensor& logits_row, int64_t k, const std::vector<std::string>& labels);

// One name per line. An empty path finds ImageNet's 1000 names: reskit's
// data directory, then Debian's opencv-doc copy; none found gives {}.
std::vector<std::string> load_labels(const std::string& path);
// The same with other default files, tried in order.
std::vector<std::string> load_labels(const std::string& path, const std::vector<std::string>& defaults);

}  // namespace reskit::tasks
