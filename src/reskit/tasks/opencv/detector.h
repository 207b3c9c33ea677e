#pragma once
// An SSD-style detector (rfbnet) from image files to boxes, as RFBNet's
// test_RFB.py runs it: BaseTransform, forward, decode against the priors,
// scale to the image, post-process. Images are read through OpenCV.
#include <string>
#include <vector>

#include "reskit/models/registry.h"
#include "reskit/tasks/detection.h"

namespace reskit::tasks {

class Detector {
 public:
  // `model` returns box offsets N x P x 4 and class scores (probabilities as
  // (N*P) x C, or logits N x P x C, which get a softmax). Its `size` option
  // is the input size; `dataset` picks the priors.
  Detector(const models::Model& model, DetectionDataset dataset);

  std::vector<Detection> detect(const std::string& image_path, const PostprocessOptions& options) const;
  int64_t size() const { return size_; }
  int64_t num_classes() const { return num_classes_; }

 private:
  const models::Model& model_;
  int64_t size_, num_classes_;
  at::Tensor priors_;
};

}  // namespace reskit::tasks
