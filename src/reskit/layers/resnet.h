#pragma once
// torchvision.models.resnet: BasicBlock, Bottleneck and ResNet with
// torchvision's options, initialisation and parameter names. Classification
// uses it as it is; seeds/004's EncNet backbone is the same network with
// stage strides 1,1,2,1 (output stride 8).
#include <torch/nn/module.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/pooling.h>
#include <torch/nn/pimpl.h>

#include <vector>

#include "reskit/core/option_fields.h"
#include "reskit/layers/batch_norm.h"
#include "reskit/layers/conv.h"
#include "reskit/layers/sequential.h"

namespace reskit::layers {

enum class BlockKind { kBasic, kBottleneck };

struct BlockOptions {
  BlockOptions(int64_t inplanes, int64_t planes) : inplanes_(inplanes), planes_(planes) {}
  TORCH_ARG(int64_t, inplanes);
  TORCH_ARG(int64_t, planes);
  TORCH_ARG(int64_t, stride) = 1;  // on the 3x3 conv, as torchvision does
  TORCH_ARG(int64_t, groups) = 1;
  TORCH_ARG(int64_t, base_width) = 64;
  TORCH_ARG(int64_t, dilation) = 1;
};

class BasicBlockImpl : public torch::nn::Module {
 public:
  static constexpr int64_t kExpansion = 1;
  BasicBlockImpl(const BlockOptions& o, Sequential downsample);
  at::Tensor forward(at::Tensor x);

  Conv2d conv1{nullptr}, conv2{nullptr};
  BatchNorm2d bn1{nullptr}, bn2{nullptr};
  torch::nn::ReLU relu{nullptr};
  Sequential downsample{nullptr};
};
TORCH_MODULE(BasicBlock);

class BottleneckImpl : public torch::nn::Module {
 public:
  static constexpr int64_t kExpansion = 4;
  BottleneckImpl(const BlockOptions& o, Sequential downsample);
  at::Tensor forward(at::Tensor x);

  Conv2d conv1{nullptr}, conv2{nullptr}, conv3{nullptr};
  BatchNorm2d bn1{nullptr}, bn2{nullptr}, bn3{nullptr};
  torch::nn::ReLU relu{nullptr};
  Sequential downsample{nullptr};
};
TORCH_MODULE(Bottleneck);

// torchvision's ResNet(block, layers, ...) arguments. The architecture
// (block, layers, strides) is fixed per variant; the rest are the user's options.
struct ResNetOptions {
  ResNetOptions(BlockKind block, std::vector<int64_t> layers) : block_(block), layers_(std::move(layers)) {}
  TORCH_ARG(BlockKind, block);
  TORCH_ARG(std::vector<int64_t>, layers);
  // Stage strides: torchvision's 1,2,2,2; backbones such as seed 004's use 1,1,2,1.
  TORCH_ARG(std::vector<int64_t>, strides) = {1, 2, 2, 2};
#define RESKIT_FIELDS(X)                                                                             \
  X(int64_t, num_classes, 1000, "size of the classifier output")                                     \
  X(bool, zero_init_residual, false, "zero the last BN weight of each residual branch")              \
  X(int64_t, groups, 1, "groups of the 3x3 convolutions (ResNeXt cardinality)")                      \
  X(int64_t, width_per_group, 64, "base width of each group")                                        \
  X(std::vector<bool>, replace_stride_with_dilation, (std::vector<bool>{false, false, false}),       \
    "for layer2..layer4: 1 replaces the stage's stride 2 with dilation")
  RESKIT_OPTIONS(RESKIT_FIELDS)
#undef RESKIT_FIELDS
};

class ResNetImpl : public torch::nn::Module {
 public:
  explicit ResNetImpl(const ResNetOptions& o);
  at::Tensor forward(at::Tensor x);
  // The four stage outputs (layer1..layer4), for backbone use.
  std::vector<at::Tensor> forward_features(at::Tensor x);

  Conv2d conv1{nullptr};
  BatchNorm2d bn1{nullptr};
  torch::nn::ReLU relu{nullptr};
  torch::nn::MaxPool2d maxpool{nullptr};
  Sequential layer1{nullptr}, layer2{nullptr}, layer3{nullptr}, layer4{nullptr};
  torch::nn::AdaptiveAvgPool2d avgpool{nullptr};
  torch::nn::Linear fc{nullptr};

 private:
  at::Tensor stem(at::Tensor x);
  Sequential make_layer(int64_t planes, int64_t blocks, int64_t stride, bool dilate);

  ResNetOptions options_;
  int64_t inplanes_ = 64;
  int64_t dilation_ = 1;
};
TORCH_MODULE(ResNet);

}  // namespace reskit::layers
