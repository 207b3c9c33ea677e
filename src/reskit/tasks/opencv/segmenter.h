#pragma once
// A segmentation model (encnet_r50, or any whose first output is logits
// N x C x h x w) from image files to class masks at the images' own
// resolution, and the evaluation over a data set's split that train-seg's
// validation and eval-seg share.
#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "reskit/core/progress.h"
#include "reskit/models/registry.h"
#include "reskit/tasks/engine_runner.h"
#include "reskit/tasks/opencv/seg_loader.h"
#include "reskit/tasks/seg_metrics.h"

namespace reskit::tasks {

// Throws a one-line error unless `size` is a positive multiple of 8 (EncNet's output stride).
void check_seg_size(int64_t size, const std::string& flag = "--size");

struct Segmentation {
  at::Tensor image;   // H x W x 3 uint8 BGR, as read
  at::Tensor mask;    // H x W int64 class indices
  int64_t num_classes = 0;  // the logits' channels
};

class Segmenter {
 public:
  // The model is put in eval mode; `size` is the side images are resized to.
  Segmenter(const models::Model& model, c10::Device device, int64_t size, Engine engine = Engine::kEager);
  // The image as validation prepares it (seg_input_tensor: RGB, resized to
  // size x size bilinearly, ImageNet-normalised), the forward under no-grad,
  // then mask_from_logits at the image's resolution.
  Segmentation segment(const std::string& image_path) const;
  int64_t size() const { return size_; }

 private:
  const models::Model& model_;
  c10::Device device_;
  int64_t size_;
  EngineRunner forward_;
};

// Images N x 3 x S x S (CPU) to segmentation logits N x C x h x w.
using SegForward = std::function<at::Tensor(const at::Tensor& images)>;

struct SegEvaluation {
  ConfusionMatrix confusion;
  // The batches' cross-entropy (mean over their pixels not ignored; labels
  // outside 0..C-1 ignored too), averaged over images; NaN with no such pixel.
  double loss = 0;
  int64_t images = 0;
};

// One pass over the loader's epoch 0 (a validation loader: in order, no
// augmentation) under no-grad: predictions are the argmax of the logits,
// upsampled bilinearly to the labels' size when they differ. `num_classes`
// 0 takes the logits' channels; otherwise they must agree. `progress`
// (may be null) steps once a batch.
SegEvaluation evaluate_segmentation(const SegForward& forward, SegLoader& loader, int64_t num_classes,
                                    Progress* progress);
// The same for a built model: its first output, on `device`, in eval mode
// (the module's training flag is restored afterwards, also on error).
SegEvaluation evaluate_segmentation(const models::Model& model, c10::Device device, SegLoader& loader,
                                    int64_t num_classes, Progress* progress, Engine engine = Engine::kEager);

}  // namespace reskit::tasks
