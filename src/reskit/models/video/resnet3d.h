#pragma once
// mmaction2's ResNet3d backbone (I3D-style inflated 3D convs) with its
// BasicBlock3d and Bottleneck3d, built from mmcv ConvModules, with
// mmaction2's options, initialisation and parameter names.
#include <torch/nn/module.h>
#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/pooling.h>
#include <torch/nn/pimpl.h>

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "reskit/core/option_fields.h"
#include "reskit/core/python_hooks.h"
#include "reskit/layers/conv_module.h"
#include "reskit/layers/sequential.h"

namespace reskit::models::video {

enum class InflateStyle { k3x1x1, k3x3x3 };
// Which conv of a Bottleneck3d carries the block's stride: the 3x3 (pytorch)
// or the first 1x1 (caffe). BasicBlock3d strides its first conv either way.
enum class BlockStyle { kPytorch, kCaffe };
inline const std::vector<std::pair<BlockStyle, const char*>>& reskit_enum_names(BlockStyle) {
  static const std::vector<std::pair<BlockStyle, const char*>> names = {{BlockStyle::kPytorch, "pytorch"},
                                                                        {BlockStyle::kCaffe, "caffe"}};
  return names;
}
inline const std::vector<std::pair<InflateStyle, const char*>>& reskit_enum_names(InflateStyle) {
  static const std::vector<std::pair<InflateStyle, const char*>> names = {{InflateStyle::k3x1x1, "3x1x1"},
                                                                          {InflateStyle::k3x3x3, "3x3x3"}};
  return names;
}

struct Block3dOptions {
  Block3dOptions(int64_t inplanes, int64_t planes) : inplanes_(inplanes), planes_(planes) {}
  TORCH_ARG(int64_t, inplanes);
  TORCH_ARG(int64_t, planes);
  TORCH_ARG(int64_t, spatial_stride) = 1;
  TORCH_ARG(int64_t, temporal_stride) = 1;
  TORCH_ARG(int64_t, dilation) = 1;
  TORCH_ARG(bool, inflate) = true;
  TORCH_ARG(InflateStyle, inflate_style) = InflateStyle::k3x1x1;  // Bottleneck3d only
  TORCH_ARG(BlockStyle, style) = BlockStyle::kPytorch;            // Bottleneck3d only
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

// mmaction2's ResNet3d(...) arguments and defaults, in its order.
struct ResNet3dOptions {
#define RESKIT_FIELDS(X)                                                                                          \
  X(int64_t, depth, 50, "18, 34, 50, 101 or 152")                                                                 \
  X(int64_t, in_channels, 3, "input channels")                                                                    \
  X(int64_t, num_stages, 4, "residual stages built (1..4)")                                                       \
  X(int64_t, base_channels, 64, "stem output channels (stage i has base_channels * 2^i planes)")                  \
  X(IntList, out_indices, (IntList{3}), "stages whose outputs are returned (0..num_stages-1)")                   \
  X(IntList, spatial_strides, (IntList{1, 2, 2, 2}), "per stage")                                                \
  X(IntList, temporal_strides, (IntList{1, 1, 1, 1}), "per stage")                                               \
  X(IntList, dilations, (IntList{1, 1, 1, 1}), "per stage")                                                      \
  X(IntList, conv1_kernel, (IntList{3, 7, 7}), "stem kernel (t, h, w)")                                           \
  X(int64_t, conv1_stride_s, 2, "stem spatial stride")                                                            \
  X(int64_t, conv1_stride_t, 1, "stem temporal stride")                                                           \
  X(int64_t, pool1_stride_s, 2, "stem max-pool spatial stride")                                                   \
  X(int64_t, pool1_stride_t, 1, "stem max-pool temporal stride")                                                  \
  X(bool, with_pool1, true, "the stem max-pool (built either way, as upstream)")                                  \
  X(bool, with_pool2, true, "halve time after layer1")                                                            \
  X(BlockStyle, style, BlockStyle::kPytorch, "pytorch: a Bottleneck3d strides its 3x3 conv; caffe: its first 1x1") \
  X(IntListList, inflate, (IntListList{{1, 1, 1, 1}}),                                                            \
    "temporal kernels per stage (1,1,1,1, or one flag for all) or per block (1,1,1/1,0,1,0/...)")                 \
  X(InflateStyle, inflate_style, InflateStyle::k3x1x1,                                                            \
    "Bottleneck3d: temporal kernel on the 1x1 conv (3x1x1) or the 3x3 conv (3x3x3)")                              \
  X(bool, zero_init_residual, true, "zero the last BN of each residual branch")
  RESKIT_OPTIONS(RESKIT_FIELDS)
#undef RESKIT_FIELDS
};

class ResNet3dImpl : public torch::nn::Module, public PythonHooks {
 public:
  explicit ResNet3dImpl(const ResNet3dOptions& o);
  // The stages named by out_indices, in order (mmaction2 returns a lone one bare).
  std::vector<at::Tensor> forward(at::Tensor x);

  // mmaction2 builds the stem pool with tuples, which Python prints even where uniform.
  std::optional<std::string> python_child_extra_repr(const torch::nn::Module& child) const override;

  const ResNet3dOptions& options() const { return options_; }
  int64_t feat_dim() const { return inplanes_; }  // channels out of layer4, as mmaction2 names it

  layers::ConvModule conv1{nullptr};
  torch::nn::MaxPool3d maxpool{nullptr}, pool2{nullptr};
  std::vector<layers::Sequential> res_layers;  // layer1..layer4

 private:
  layers::Sequential make_res_layer(bool bottleneck, int64_t planes, int64_t blocks, int64_t stage,
                                    const std::vector<int64_t>& inflate);

  ResNet3dOptions options_;
  int64_t inplanes_ = 64;
};
TORCH_MODULE(ResNet3d);

}  // namespace reskit::models::video
