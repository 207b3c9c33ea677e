#pragma once
// seeds/004's training loss, one forward pass per step:
//   loss = CrossEntropy(seg, y; ignore 255 and labels >= num_classes) + se_weight * SE(se, presence(y))
// where presence[n][c] = 1 when class c occurs in image n's label (the
// ignore label and labels >= num_classes never count). The SE term is the
// seed's MSE on the raw SE logits (`mse`), or EncNet's own form, binary
// cross-entropy on their sigmoid (`bce`, PyTorch-Encoding's SegmentationLosses).
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace reskit::tasks {

enum class SeLoss { kMse, kBce };
inline const std::vector<std::pair<SeLoss, const char*>>& reskit_enum_names(SeLoss) {
  static const std::vector<std::pair<SeLoss, const char*>> names = {{SeLoss::kMse, "mse"}, {SeLoss::kBce, "bce"}};
  return names;
}

// N x H x W int64 labels -> N x num_classes float {0, 1}.
at::Tensor class_presence(const at::Tensor& labels, int64_t num_classes);

struct SegLossTerms {
  at::Tensor total, cross_entropy, se;  // scalars; se undefined without SE logits
};

// `outputs`: the model's (seg logits N x C x H x W[, SE logits N x C]); labels N x H x W int64.
SegLossTerms segmentation_loss(const std::vector<at::Tensor>& outputs, const at::Tensor& labels, double se_weight,
                               SeLoss se_loss);

}  // namespace reskit::tasks
