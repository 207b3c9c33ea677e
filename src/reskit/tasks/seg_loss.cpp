#include "reskit/tasks/seg_loss.h"

#include <ATen/ops/binary_cross_entropy.h>
#include <ATen/ops/cross_entropy_loss.h>
#include <ATen/ops/mse_loss.h>
#include <ATen/ops/one_hot.h>

#include "reskit/core/error.h"
#include "reskit/tasks/seg_data.h"

namespace reskit::tasks {

at::Tensor class_presence(const at::Tensor& labels, int64_t num_classes) {
  const at::Tensor flat = labels.flatten(1);
  // Pixels outside 0..num_classes-1 (the ignore label) go to an extra column that is dropped.
  const at::Tensor counted = at::where(flat.lt(num_classes) & flat.ge(0), flat, at::full({}, num_classes, flat.options()));
  at::Tensor present = at::zeros({labels.size(0), num_classes + 1}, labels.options().dtype(at::kFloat));
  present.scatter_(1, counted, 1.0f);
  return present.narrow(1, 0, num_classes).contiguous();
}

SegLossTerms segmentation_loss(const std::vector<at::Tensor>& outputs, const at::Tensor& labels, double se_weight,
                               SeLoss se_loss) {
  if (outputs.empty() || outputs[0].dim() != 4)
    throw Error("train-seg: the model must return segmentation logits N x C x H x W first");
  const at::Tensor& seg = outputs[0];
  if (seg.size(0) != labels.size(0) || seg.size(2) != labels.size(1) || seg.size(3) != labels.size(2))
    throw Error("train-seg: logits " + std::to_string(seg.size(2)) + "x" + std::to_string(seg.size(3)) +
                " do not match labels " + std::to_string(labels.size(1)) + "x" + std::to_string(labels.size(2)));
  SegLossTerms terms;
  // Mean over the pixels that are not ignored, as nn.CrossEntropyLoss(ignore_index=255); a label the
  // model has no class for is ignored too (nn.CrossEntropyLoss would fail on it).
  const int64_t c = seg.size(1);
  const at::Tensor target = at::where((labels >= 0) & (labels < c), labels, at::full_like(labels, kIgnoreLabel));
  terms.cross_entropy = at::cross_entropy_loss(seg, target, {}, at::Reduction::Mean, kIgnoreLabel);
  terms.total = terms.cross_entropy;
  if (outputs.size() > 1 && se_weight != 0) {
    const at::Tensor target = class_presence(labels, seg.size(1)).to(outputs[1].scalar_type());
    terms.se = se_loss == SeLoss::kMse ? at::mse_loss(outputs[1], target)
                                       : at::binary_cross_entropy(at::sigmoid(outputs[1]), target);
    terms.total = terms.total + se_weight * terms.se;
  }
  return terms;
}

}  // namespace reskit::tasks
