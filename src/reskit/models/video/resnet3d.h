#pragma once
// mmaction2's ResNet3d backbone (I3D-style inflated 3D convs) with its
// BasicBlock3d and Bottleneck3d, built from mmcv ConvModules, with
// mmaction2's options, initialisation and parameter names.
#include <torch/nn/module.h>
#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/pooling.h>
#include <torch/nn/pimpl.h>

#include <vector>

#include "reskit/layers/conv_module.h"
#include "reskit/layers/sequential.h"

namespace reskit::models {

enum class InflateStyle { k3x1x1, k3x3x3 };

struct Block3dOptions {
  Block3dOptions(int64_t inplanes, int64_t planes) : inplanes_(inplanes), planes_(planes) {}
  TORCH_ARG(int64_t, inplanes);
  TORCH_ARG(int64_t, planes);
  TORCH_ARG(int64_t, spatial_stride) = 1;
  TORCH_ARG(int64_t, temporal_stride) = 1;
  TORCH_ARG(int64_t, dilation) = 1;
  TORCH_ARG(bool, inflate) = true;
  TORCH_ARG(InflateStyle, inflate_style) = InflateStyle::k3x1x1;  // Bottleneck3d only
};

class BasicBlock3dImpl : public torch::nn::Module {
 public:
  static constexpr int64_t kExpansion = 1;
  BasicBlock3dImpl(const Block3dOptions& o, layers::ConvModule downsample);
  at::Tensor forward(at::Tensor x);

  layers::ConvModule conv1{nullptr}, conv2{nullptr}, downsample{nullptr};
  torch::nn::ReLU relu{nullptr};
};
TORCH_MODULE(BasicBlock3d);

class Bottleneck3dImpl : public torch::nn::Module {
 public:
  static constexpr int64_t kExpansion = 4;
  Bottleneck3dImpl(const Block3dOptions& o, layers::ConvModule downsample);
  at::Tensor forward(at::Tensor x);

  layers::ConvModule conv1{nullptr}, conv2{nullptr}, conv3{nullptr}, downsample{nullptr};
  torch::nn::ReLU relu{nullptr};
};
TORCH_MODULE(Bottleneck3d);

struct ResNet3dOptions {
  explicit ResNet3dOptions(int64_t depth) : depth_(depth) {}
  TORCH_ARG(int64_t, depth);  // 18, 34, 50, 101 or 152
  // Per stage: one flag for all its blocks, or one flag per block.
  TORCH_ARG(std::vector<std::vector<int64_t>>, inflate) = {{1}, {1}, {1}, {1}};
  TORCH_ARG(InflateStyle, inflate_style) = InflateStyle::k3x1x1;
  TORCH_ARG(std::vector<int64_t>, conv1_kernel) = {3, 7, 7};
  TORCH_ARG(int64_t, conv1_stride_t) = 1;
  TORCH_ARG(int64_t, pool1_stride_t) = 1;
  TORCH_ARG(bool, with_pool2) = true;
  TORCH_ARG(std::vector<int64_t>, spatial_strides) = {1, 2, 2, 2};
  TORCH_ARG(std::vector<int64_t>, temporal_strides) = {1, 1, 1, 1};
  TORCH_ARG(std::vector<int64_t>, dilations) = {1, 1, 1, 1};
  TORCH_ARG(std::vector<int64_t>, out_indices) = {3};
  TORCH_ARG(bool, zero_init_residual) = true;
};

class ResNet3dImpl : public torch::nn::Module {
 public:
  explicit ResNet3dImpl(const ResNet3dOptions& o);
  // The stages named by out_indices, in order (mmaction2 returns a lone one bare).
  std::vector<at::Tensor> forward(at::Tensor x);

  const ResNet3dOptions& options() const { return options_; }
  int64_t feat_dim() const { return inplanes_; }  // channels out of layer4, as mmaction2 names it

  layers::ConvModule conv1{nullptr};
  torch::nn::MaxPool3d maxpool{nullptr}, pool2{nullptr};
  std::vector<layers::Sequential> res_layers;  // layer1..layer4

 private:
  layers::Sequential make_res_layer(bool bottleneck, int64_t planes, int64_t blocks, int64_t stage);

  ResNet3dOptions options_;
  int64_t inplanes_ = 64;
};
TORCH_MODULE(ResNet3d);

}  // namespace reskit::models
