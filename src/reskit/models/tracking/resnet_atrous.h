#pragma once
// SiamBAN's atrous ResNet-50 (siamban/models/backbone/resnet_atrous.py):
// a 7x7/2 stem without padding, a layer2 whose stride-2 convs have no
// padding, and layer3/layer4 dilated 2 and 4 (the first block of each at
// half the rate), so the stride stays 8 from layer2 on.
#include <torch/nn/module.h>
#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/pooling.h>
#include <torch/nn/pimpl.h>

#include <vector>

#include "reskit/layers/conv.h"
#include "reskit/layers/sequential.h"

namespace reskit::models::tracking {

class AtrousBottleneckImpl : public torch::nn::Module {
 public:
  static constexpr int64_t kExpansion = 4;
  AtrousBottleneckImpl(int64_t inplanes, int64_t planes, int64_t stride, layers::Sequential downsample,
                       int64_t dilation);
  at::Tensor forward(at::Tensor x);

  layers::Conv2d conv1{nullptr}, conv2{nullptr}, conv3{nullptr};
  torch::nn::BatchNorm2d bn1{nullptr}, bn2{nullptr}, bn3{nullptr};
  torch::nn::ReLU relu{nullptr};
  layers::Sequential downsample{nullptr};
};
TORCH_MODULE(AtrousBottleneck);

class AtrousResNetImpl : public torch::nn::Module {
 public:
  // `used_layers` picks the returned outputs, as upstream: 0 the stem's
  // ReLU, 1..4 layer1..layer4. Layers after the last one used are not built.
  AtrousResNetImpl(std::vector<int64_t> blocks, std::vector<int64_t> used_layers);
  std::vector<at::Tensor> forward(at::Tensor x);

  layers::Conv2d conv1{nullptr};
  torch::nn::BatchNorm2d bn1{nullptr};
  torch::nn::ReLU relu{nullptr};
  torch::nn::MaxPool2d maxpool{nullptr};
  layers::Sequential layer1{nullptr}, layer2{nullptr}, layer3{nullptr}, layer4{nullptr};

 private:
  layers::Sequential make_layer(int64_t planes, int64_t blocks, int64_t stride, int64_t dilation);

  std::vector<int64_t> used_layers_;
  int64_t inplanes_ = 64;
};
TORCH_MODULE(AtrousResNet);

}  // namespace reskit::models::tracking
