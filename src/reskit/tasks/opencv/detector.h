#pragma once
// An SSD-style detector (rfbnet) from image files to boxes, as RFBNet's
// test_RFB.py runs it: BaseTransform, forward, decode against the priors,
// scale to the image, post-process. Images are read through OpenCV.
#include <c10/core/Device.h>

#include <optional>
#include <string>
#include <vector>

#include "reskit/models/registry.h"
#include "reskit/tasks/engine_runner.h"
#include "reskit/tasks/detection.h"

namespace reskit::tasks {

class Detector {
 public:
  // `model` returns box offsets N x P x 4 and class scores (probabilities as
  // (N*P) x C, or logits N x P x C, which get a softmax). Its `size` option
  // is the input size; `dataset` picks the priors, by default the one its
  // num_classes fits (81: COCO, else VOC). VOC's priors for an 81-class
  // model are refused: they would give wrong boxes without a word.
  Detector(const models::Model& model, c10::Device device, std::optional<DetectionDataset> dataset,
           Engine engine = Engine::kEager);

  std::vector<Detection> detect(const std::string& image_path, const PostprocessOptions& options) const;
  int64_t size() const { return size_; }
  int64_t num_classes() const { return num_classes_; }
  DetectionDataset dataset() const { return dataset_; }

 private:
  const models::Model& model_;
  c10::Device device_;
  EngineRunner forward_;
  int64_t size_, num_classes_;
  DetectionDataset dataset_;
  at::Tensor priors_;
};

}  // namespace reskit::tasks
