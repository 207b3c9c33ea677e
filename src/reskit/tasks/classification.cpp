#include "reskit/tasks/classification.h"

#include <ATen/ATen.h>

#include <filesystem>
#include <fstream>

#include "reskit/core/data_dir.h"
#include "reskit/core/error.h"

namespace reskit::tasks {

std::vector<Prediction> top_k(const at::Tensor& logits_row, int64_t k, const std::vector<std::string>& labels) {
  at::Tensor probs = logits_row.detach().to(at::kCPU).to(at::kDouble).flatten().softmax(0);
  k = std::min<int64_t>(k, probs.numel());
  auto [values, indices] = probs.topk(k);
  std::vector<Prediction> out;
  for (int64_t i = 0; i < k; ++i) {
    const int64_t index = indices[i].item<int64_t>();
    const bool named = labels.size() == static_cast<size_t>(probs.numel());
    out.push_back({index, values[i].item<double>(), named ? labels[index] : std::to_string(index)});
  }
  return out;
}

std::vector<std::string> load_labels(const std::string& path) {
  return load_labels(path, {data_dir() + "/imagenet_classes.txt",
                            "/usr/share/doc/opencv-doc/examples/data/dnn/classification_classes_ILSVRC2012.txt"});
}

std::vector<std::string> load_labels(const std::string& path, const std::vector<std::string>& defaults) {
  std::vector<std::string> candidates = defaults;
  if (!path.empty()) {
    if (!std::filesystem::is_regular_file(path)) throw Error("labels file '" + path + "' does not exist");
    candidates = {path};
  }
  for (const std::string& candidate : candidates) {
    std::ifstream in(candidate);
    if (!in) continue;
    std::vector<std::string> labels;
    for (std::string line; std::getline(in, line);) {
      if (!line.empty() && line.back() == '\r') line.pop_back();
      labels.push_back(line);
    }
    return labels;
  }
  return {};
}

}  // namespace reskit::tasks
