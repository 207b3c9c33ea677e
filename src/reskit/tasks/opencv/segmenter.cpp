#include "reskit/tasks/opencv/segmenter.h"

#include <ATen/ATen.h>
#include <torch/nn/module.h>

#include <cmath>
#include <optional>

#include "reskit/core/error.h"
#include "reskit/io/opencv/track_frames.h"
#include "reskit/tasks/model_setup.h"
#include "reskit/tasks/seg_data.h"
#include "reskit/tasks/seg_mask.h"

namespace reskit::tasks {
namespace {

// The segmentation logits: a model's first output, N x C x h x w.
at::Tensor first_logits(const std::string& model_name, const std::vector<at::Tensor>& outputs) {
  if (outputs.empty() || !outputs[0].defined() || outputs[0].dim() != 4)
    throw Error(model_name + " is not a segmentation model: its first output is not N x C x H x W logits");
  return outputs[0];
}

// Restores a module's training flag however the evaluation ends.
class EvalMode {
 public:
  explicit EvalMode(torch::nn::Module& module) : module_(module), was_training_(module.is_training()) { module.eval(); }
  ~EvalMode() { module_.train(was_training_); }
  EvalMode(const EvalMode&) = delete;
  EvalMode& operator=(const EvalMode&) = delete;

 private:
  torch::nn::Module& module_;
  bool was_training_;
};

}  // namespace

void check_seg_size(int64_t size, const std::string& flag) {
  if (size < 8 || size % 8 != 0 || size > 8192)
    throw Error(flag + " must be a multiple of 8 between 8 and 8192 (EncNet's output stride is 8), got " +
                std::to_string(size));
}

Segmenter::Segmenter(const models::Model& model, c10::Device device, int64_t size, Engine engine)
    : model_(model), device_(device), size_(size), forward_(model, engine) {
  check_seg_size(size);
  model_.module->eval();
}

Segmentation Segmenter::segment(const std::string& image_path) const {
  Segmentation out;
  out.image = io::read_bgr_image(image_path);  // the original, for its size and the overlay
  const at::Tensor input = seg_input_tensor(image_path, size_).to(device_);
  const at::Tensor logits = first_logits(model_.name, forward_({input}));
  out.num_classes = logits.size(1);
  out.mask = mask_from_logits(logits, out.image.size(0), out.image.size(1)).to(at::kCPU);
  return out;
}

SegEvaluation evaluate_segmentation(const SegForward& forward, SegLoader& loader, int64_t num_classes,
                                    Progress* progress) {
  at::NoGradGuard no_grad;
  std::optional<ConfusionMatrix> confusion;
  if (num_classes > 0) confusion.emplace(num_classes);
  double loss_sum = 0;
  int64_t loss_images = 0, images = 0;
  loader.start_epoch(0);
  while (std::optional<SegBatch> batch = loader.next()) {
    at::Tensor logits = forward(batch->images);
    if (!logits.defined() || logits.dim() != 4 || logits.size(0) != batch->images.size(0))
      throw Error("evaluation: the model's logits are not N x C x H x W for a batch of " +
                  std::to_string(batch->images.size(0)));
    if (!confusion) confusion.emplace(logits.size(1));
    if (logits.size(1) != confusion->num_classes())
      throw Error("evaluation: the model gives " + std::to_string(logits.size(1)) + " class scores, not " +
                  std::to_string(confusion->num_classes()));
    const at::Tensor labels = batch->labels.to(logits.device(), at::kLong);
    if (logits.size(2) != labels.size(1) || logits.size(3) != labels.size(2))
      logits = at::upsample_bilinear2d(logits, {labels.size(1), labels.size(2)}, false);
    confusion->add(logits.argmax(1), labels);
    const int64_t c = logits.size(1);
    const at::Tensor target = at::where((labels >= 0) & (labels < c), labels, at::full_like(labels, kIgnoreLabel));
    const double loss = at::cross_entropy_loss(logits.to(at::kFloat), target, {}, at::Reduction::Mean, kIgnoreLabel)
                            .item<double>();
    const int64_t n = labels.size(0);
    if (std::isfinite(loss)) loss_sum += loss * static_cast<double>(n), loss_images += n;
    images += n;
    if (progress) progress->step();
  }
  if (!confusion) throw Error("evaluation: the split has no images");
  return {*confusion, loss_images ? loss_sum / static_cast<double>(loss_images) : std::nan(""), images};
}

SegEvaluation evaluate_segmentation(const models::Model& model, c10::Device device, SegLoader& loader,
                                    int64_t num_classes, Progress* progress, Engine engine) {
  EvalMode eval(*model.module);
  const EngineRunner runner(model, engine);
  const SegForward forward = [&](const at::Tensor& images) {
    return first_logits(model.name, runner({images.to(device)}));
  };
  return evaluate_segmentation(forward, loader, num_classes, progress);
}

}  // namespace reskit::tasks
