#pragma once
// RFBNet (models/RFB_Net_vgg.py of the RFBNet code base) with its parameter
// names: the SSD-style VGG16 `base`, BasicRFB_a as `Norm` on conv4_3, the
// BasicRFB `extras`, and the multibox `loc` / `conf` heads, for inputs of
// 300x300 or 512x512. Prior boxes, decoding and NMS are the detection task's.
#include <torch/nn/module.h>
#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/container/any.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/pimpl.h>

#include <utility>
#include <vector>

#include "reskit/core/option_fields.h"
#include "reskit/layers/conv.h"
#include "reskit/layers/rfb.h"

namespace reskit::models::detection {

enum class Phase { kTest, kTrain };
inline const std::vector<std::pair<Phase, const char*>>& reskit_enum_names(Phase) {
  static const std::vector<std::pair<Phase, const char*>> names = {{Phase::kTest, "test"}, {Phase::kTrain, "train"}};
  return names;
}

struct RFBNetOptions {
#define RESKIT_FIELDS(X)                                                                                     \
  X(int64_t, size, 300, "input size: 300 or 512 (RFBNet300, RFBNet512)")                                     \
  X(int64_t, num_classes, 21, "classes including background: 21 for VOC, 81 for COCO")                       \
  X(Phase, phase, Phase::kTest, "test: class probabilities ((N*P) x C, softmaxed); train: logits N x P x C")
  RESKIT_OPTIONS(RESKIT_FIELDS)
#undef RESKIT_FIELDS
};

class RFBNetImpl : public torch::nn::Module {
 public:
  explicit RFBNetImpl(const RFBNetOptions& o);
  // x: N x 3 x size x size, BGR minus the means. Returns the box offsets
  // N x P x 4 and the class scores as the phase says.
  std::pair<at::Tensor, at::Tensor> forward(at::Tensor x);
  const RFBNetOptions& options() const { return options_; }

  torch::nn::ModuleList base{nullptr};
  layers::BasicRFBA Norm{nullptr};
  torch::nn::ModuleList extras{nullptr};
  torch::nn::ModuleList loc{nullptr}, conf{nullptr};
  torch::nn::Softmax softmax{nullptr};  // test phase only

 private:
  RFBNetOptions options_;
  int64_t indicator_;  // extras before it, and the even ones after, are sources
  std::vector<torch::nn::AnyModule> base_, extras_;
  std::vector<layers::Conv2d> loc_, conf_;
};
TORCH_MODULE(RFBNet);

}  // namespace reskit::models::detection
