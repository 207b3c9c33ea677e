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
#include "reskit/layers/non_local.h"
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

// mmcv's norm_cfg and act_cfg, for the choices its ConvModule builds in 3-D.
enum class Norm3dType { kNone, kBN3d, kGN };
inline const std::vector<std::pair<Norm3dType, const char*>>& reskit_enum_names(Norm3dType) {
  static const std::vector<std::pair<Norm3dType, const char*>> names = {
      {Norm3dType::kNone, "none"}, {Norm3dType::kBN3d, "BN3d"}, {Norm3dType::kGN, "GN"}};
  return names;
}
enum class Act3dType { kReLU, kLeakyReLU, kSigmoid };
inline const std::vector<std::pair<Act3dType, const char*>>& reskit_enum_names(Act3dType) {
  static const std::vector<std::pair<Act3dType, const char*>> names = {
      {Act3dType::kReLU, "ReLU"}, {Act3dType::kLeakyReLU, "LeakyReLU"}, {Act3dType::kSigmoid, "Sigmoid"}};
  return names;
}

struct NormCfgOptions {
#define RESKIT_FIELDS(X)                                                              \
  X(Norm3dType, type, Norm3dType::kBN3d, "BN3d, GN or none")                          \
  X(bool, requires_grad, true, "false: the norm's weight and bias are not trained")  \
  X(double, eps, 1e-5, "added to the variance")                                       \
  X(double, momentum, 0.1, "BN3d: running-statistics momentum")                       \
  X(int64_t, num_groups, 32, "GN: groups")
  RESKIT_OPTIONS(RESKIT_FIELDS)
#undef RESKIT_FIELDS
  layers::NormCfg layer_cfg() const;
};

struct ActCfgOptions {
#define RESKIT_FIELDS(X)                                                 \
  X(Act3dType, type, Act3dType::kReLU, "ReLU, LeakyReLU or Sigmoid")     \
  X(bool, inplace, true, "ReLU/LeakyReLU: in place (shown by print)")    \
  X(double, negative_slope, 0.01, "LeakyReLU: slope below zero")
  RESKIT_OPTIONS(RESKIT_FIELDS)
#undef RESKIT_FIELDS
  layers::ActCfg layer_cfg() const;
};

// mmaction2's non_local_cfg: the arguments of mmcv's NonLocal3d.
struct NonLocalCfgOptions {
#define RESKIT_FIELDS(X)                                                                                   \
  X(int64_t, reduction, 2, "inner channels = channels / reduction")                                        \
  X(bool, use_scale, true, "embedded_gaussian: scale the affinities by 1/sqrt(inner channels)")            \
  X(bool, sub_sample, false, "max-pool g and phi 1x2x2")                                                   \
  X(layers::NonLocalMode, mode, layers::NonLocalMode::kEmbeddedGaussian,                                   \
    "embedded_gaussian, gaussian, dot_product or concatenation")                                           \
  X(NormCfgOptions, norm_cfg, NormCfgOptions().type(Norm3dType::kNone), "conv_out's norm (none by default)")
  RESKIT_OPTIONS(RESKIT_FIELDS)
#undef RESKIT_FIELDS
};

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
  TORCH_ARG(NormCfgOptions, norm_cfg) = {};
  TORCH_ARG(ActCfgOptions, act_cfg) = {};
  TORCH_ARG(bool, non_local) = false;  // a NonLocal3d after the block
  TORCH_ARG(NonLocalCfgOptions, non_local_cfg) = {};
  TORCH_ARG(bool, with_cp) = false;  // checkpoint the residual branch in training
};

// What both blocks share after their convs, as mmaction2's forward has it:
// the shortcut, act_cfg's activation after the sum, an optional NonLocal3d,
// and with_cp recomputing the convs and shortcut in backward.
class Block3dImpl : public torch::nn::Module {
 public:
  at::Tensor forward(at::Tensor x);

  layers::ConvModule downsample{nullptr};
  std::shared_ptr<torch::nn::Module> relu;  // act_cfg's activation
  layers::NonLocal3d non_local_block{nullptr};

 protected:
  Block3dImpl(const char* python_class, const Block3dOptions& o) : torch::nn::Module(python_class), options_(o) {}
  // Registers downsample, relu and non_local_block (over `channels`), after the convs.
  void register_tail(layers::ConvModule downsample, int64_t channels);
  // The convs, without the shortcut.
  virtual at::Tensor branch(const at::Tensor& x) = 0;

  Block3dOptions options_;

 private:
  at::Tensor residual(const at::Tensor& x);  // branch + shortcut
  torch::nn::AnyModule relu_call_;
};

class BasicBlock3dImpl : public Block3dImpl {
 public:
  static constexpr int64_t kExpansion = 1;
  BasicBlock3dImpl(const Block3dOptions& o, layers::ConvModule downsample);

  layers::ConvModule conv1{nullptr}, conv2{nullptr};

 private:
  at::Tensor branch(const at::Tensor& x) override;
};
TORCH_MODULE(BasicBlock3d);

class Bottleneck3dImpl : public Block3dImpl {
 public:
  static constexpr int64_t kExpansion = 4;
  Bottleneck3dImpl(const Block3dOptions& o, layers::ConvModule downsample);

  layers::ConvModule conv1{nullptr}, conv2{nullptr}, conv3{nullptr};

 private:
  at::Tensor branch(const at::Tensor& x) override;
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
  X(int64_t, frozen_stages, -1, "training: the stem (0) and stages 1..n keep their weights and BN statistics") \
  X(IntListList, inflate, (IntListList{{1, 1, 1, 1}}),                                                            \
    "temporal kernels per stage (1,1,1,1, or one flag for all) or per block (1,1,1/1,0,1,0/...)")                 \
  X(InflateStyle, inflate_style, InflateStyle::k3x1x1,                                                            \
    "Bottleneck3d: temporal kernel on the 1x1 conv (3x1x1) or the 3x3 conv (3x3x3)")                              \
  X(NormCfgOptions, norm_cfg, NormCfgOptions(), "every ConvModule's norm")                                        \
  X(ActCfgOptions, act_cfg, ActCfgOptions(), "every activation")                                                 \
  X(bool, norm_eval, false, "training: every BatchNorm stays in eval mode (statistics frozen)")                  \
  X(bool, with_cp, false, "training: recompute each block in backward instead of keeping its activations")       \
  X(IntListList, non_local, (IntListList{{0, 0, 0, 0}}),                                                         \
    "NonLocal3d after blocks, flags as inflate's (0,0,0,0 / 0,0,0/1,0,1,0/1,0,1,0,1,0/0,0,0)")                   \
  X(NonLocalCfgOptions, non_local_cfg, NonLocalCfgOptions(), "the NonLocal3d blocks' options")                   \
  X(bool, zero_init_residual, true, "zero the last BN of each residual branch")
  RESKIT_OPTIONS(RESKIT_FIELDS)
#undef RESKIT_FIELDS
};

class ResNet3dImpl : public torch::nn::Module, public PythonHooks {
 public:
  explicit ResNet3dImpl(const ResNet3dOptions& o);
  // The stages named by out_indices, in order (mmaction2 returns a lone one bare).
  std::vector<at::Tensor> forward(at::Tensor x);

  // As mmaction2's train(): frozen_stages stay frozen and, with norm_eval,
  // every BatchNorm stays in eval mode.
  void train(bool on = true) override;

  // mmaction2 builds the stem pool with tuples, which Python prints even where uniform.
  std::optional<std::string> python_child_extra_repr(const torch::nn::Module& child) const override;

  const ResNet3dOptions& options() const { return options_; }
  int64_t feat_dim() const { return inplanes_; }  // channels out of layer4, as mmaction2 names it

  layers::ConvModule conv1{nullptr};
  torch::nn::MaxPool3d maxpool{nullptr}, pool2{nullptr};
  std::vector<layers::Sequential> res_layers;  // layer1..layer4

 private:
  layers::Sequential make_res_layer(bool bottleneck, int64_t planes, int64_t blocks, int64_t stage,
                                    const std::vector<int64_t>& inflate, const std::vector<int64_t>& non_local);
  void freeze_stages();

  ResNet3dOptions options_;
  int64_t inplanes_ = 64;
};
TORCH_MODULE(ResNet3d);

}  // namespace reskit::models::video
