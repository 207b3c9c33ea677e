#include "reskit/tasks/opencv/detector.h"

#include <ATen/ATen.h>

#include "reskit/core/error.h"
#include "reskit/io/opencv/detection_image.h"
#include "reskit/tasks/model_setup.h"

namespace reskit::tasks {
namespace {

int64_t int_option(const models::Model& model, const char* key) {
  const auto& values = model.options.values();
  const auto it = values.find(key);
  if (it == values.end() || !std::holds_alternative<int64_t>(it->second))
    throw Error(model.name + " is not an SSD-style detector: it has no '" + key + "' option");
  return std::get<int64_t>(it->second);
}

// RFBNet's BaseTransform means for its VGG models (BGR).
constexpr std::array<float, 3> kBgrMeans = {104, 117, 123};

}  // namespace

Detector::Detector(const models::Model& model, c10::Device device, std::optional<DetectionDataset> dataset,
                   Engine engine)
    : model_(model), device_(device), forward_(model, engine), size_(int_option(model, "size")), num_classes_(int_option(model, "num_classes")),
      dataset_(dataset.value_or(dataset_for_classes(num_classes_))) {
  if (dataset_ == DetectionDataset::kVoc && num_classes_ == 81)
    throw Error(model.name + " has COCO's 81 classes: give --dataset coco for COCO's prior boxes and names");
  priors_ = prior_boxes(size_, dataset_);
}

std::vector<Detection> Detector::detect(const std::string& image_path, const PostprocessOptions& options) const {
  const io::DetectionInput image = io::load_detection_input(image_path, size_, kBgrMeans);
  const std::vector<at::Tensor> out = forward_({image.input.to(device_)});
  if (out.size() != 2) throw Error(model_.name + " is not an SSD-style detector: it returns " +
                                   std::to_string(out.size()) + " outputs, not box offsets and class scores");
  const at::Tensor loc = out[0].to(at::kCPU).to(at::kFloat)[0];
  at::Tensor scores = out[1].to(at::kCPU).to(at::kFloat);
  scores = scores.dim() == 3 ? at::softmax(scores[0], -1) : scores.reshape({-1, scores.size(-1)});
  if (scores.size(1) != num_classes_)
    throw Error(model_.name + ": " + std::to_string(scores.size(1)) + " class scores per box, not its " +
                std::to_string(num_classes_) + " classes");
  if (loc.size(0) != priors_.size(0) || scores.size(0) != priors_.size(0))
    throw Error(model_.name + ": " + std::to_string(loc.size(0)) + " boxes for " + std::to_string(priors_.size(0)) +
                " prior boxes of size " + std::to_string(size_));
  return detections_from_outputs(loc, scores, priors_, image.width, image.height, options);
}

}  // namespace reskit::tasks
