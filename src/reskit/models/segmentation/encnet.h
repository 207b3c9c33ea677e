#pragma once
// seeds/004's EncNet: `ENCNet` = `backbone` (torchvision's ResNet with the
// seed's stage strides 1,1,2,1, no dilation: output stride 8) + `decoder`
// (`EncHead`: bottleneck conv, optional laterals, `EncModule`, an 8x bilinear
// upsample, `cls_seg` at full resolution, and the SE branch). Parameter names
// and construction order are the seed's. Its evident bugs are fixed: the
// head follows `num_classes` and the backbone's widths, BasicBlock backbones
// are torchvision's, and the dilated variant is torchvision's dilation.
#include <torch/nn/module.h>
#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>

#include <utility>
#include <vector>

#include "reskit/core/option_fields.h"
#include "reskit/layers/conv.h"
#include "reskit/layers/encoding.h"
#include "reskit/layers/resnet.h"
#include "reskit/layers/sequential.h"

namespace reskit::models::segmentation {

enum class EncNetBackbone { kResNet50, kResNet101, kResNet18, kResNet34 };
inline const std::vector<std::pair<EncNetBackbone, const char*>>& reskit_enum_names(EncNetBackbone) {
  static const std::vector<std::pair<EncNetBackbone, const char*>> names = {{EncNetBackbone::kResNet50, "resnet50"},
                                                                            {EncNetBackbone::kResNet101, "resnet101"},
                                                                            {EncNetBackbone::kResNet18, "resnet18"},
                                                                            {EncNetBackbone::kResNet34, "resnet34"}};
  return names;
}

struct EncNetOptions {
#define RESKIT_FIELDS(X)                                                                                         \
  X(int64_t, num_classes, 33, "classes of cls_seg and se_layer")                                                 \
  X(int64_t, num_codes, 32, "codewords of the Encoding layer")                                                   \
  X(bool, use_se_loss, true, "build se_layer and return its SE logits as a second output")                       \
  X(bool, add_lateral, false, "fuse 1x1 laterals of layer1..layer3 into the bottleneck's features")              \
  X(EncNetBackbone, backbone, EncNetBackbone::kResNet50, "torchvision ResNet depth of the backbone")             \
  X(bool, dilated, false, "the paper's backbone: strides 1,2,2,2 with layer3/layer4 dilated 2 and 4, not the seed's 1,1,2,1") \
  X(int64_t, head_channels, 512, "EncHead.channels: the bottleneck's, EncModule's and se_layer's width")          \
  X(int64_t, seg_channels, 256, "cls_seg's hidden width")
  RESKIT_OPTIONS(RESKIT_FIELDS)
#undef RESKIT_FIELDS
};

// The backbone as the seed builds it: torchvision's ResNet of that depth with its stage strides.
layers::ResNetOptions encnet_backbone_options(const EncNetOptions& o);

class EncModuleImpl : public torch::nn::Module {
 public:
  EncModuleImpl(int64_t in_channels, int64_t num_codes);
  // (the codes' mean, N x C; relu(x + x * gamma))
  std::pair<at::Tensor, at::Tensor> forward(const at::Tensor& x);

  layers::Conv2d encoding_project{nullptr};
  layers::Sequential encoding{nullptr};  // Encoding, BatchNorm1d(num_codes), ReLU
  layers::Sequential fc{nullptr};        // Linear(C, C), Sigmoid
};
TORCH_MODULE(EncModule);

class EncHeadImpl : public torch::nn::Module {
 public:
  EncHeadImpl(const EncNetOptions& o, std::vector<int64_t> in_channels);
  // The segmentation logits at 8x the features' size, then the SE logits with use_se_loss.
  std::vector<at::Tensor> forward(const std::vector<at::Tensor>& inputs);

  layers::Conv2d bottleneck{nullptr};
  torch::nn::ModuleList lateral_convs{nullptr};
  layers::Conv2d fusion{nullptr};
  EncModule enc_module{nullptr};
  layers::Sequential cls_seg{nullptr};
  torch::nn::Linear se_layer{nullptr};

 private:
  std::vector<layers::Conv2d> laterals_;
};
TORCH_MODULE(EncHead);

class ENCNetImpl : public torch::nn::Module {
 public:
  explicit ENCNetImpl(const EncNetOptions& o);
  // Segmentation logits N x num_classes x H x W, then the SE logits N x num_classes (with use_se_loss).
  std::vector<at::Tensor> forward(const at::Tensor& x);

  layers::ResNet backbone{nullptr};
  EncHead decoder{nullptr};
};
TORCH_MODULE(ENCNet);

}  // namespace reskit::models::segmentation
