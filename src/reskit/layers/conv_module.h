#pragma once
// mmcv's ConvModule: conv (1d/2d/3d) + optional norm + optional activation,
// children named `conv`, `bn`/`gn` and `activate` exactly as mmcv registers
// them, so mmaction2/mmseg checkpoints load unchanged.
#include <torch/nn/module.h>
#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/container/any.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/normalization.h>
#include <torch/nn/pimpl.h>

#include <optional>
#include <vector>

#include "reskit/core/python_hooks.h"

namespace reskit::layers {

enum class NormType { kNone, kBN, kGN };
enum class ActType { kNone, kReLU, kLeakyReLU, kSiLU, kSigmoid };

struct ConvCfg {
  int dims = 2;  // Conv1d, Conv2d or Conv3d
};
struct NormCfg {
  NormType type = NormType::kBN;
  int64_t num_groups = 32;  // GN only
  double eps = 1e-5;
  double momentum = 0.1;
  bool requires_grad = true;  // false: the norm's weight and bias are frozen (mmcv's norm_cfg)
};
struct ActCfg {
  ActType type = ActType::kReLU;
  double negative_slope = 0.01;  // LeakyReLU only
  bool inplace = true;           // mmcv's default for ReLU, LeakyReLU and SiLU
};

struct ConvModuleOptions {
  // Sizes with one value apply to every spatial dimension.
  ConvModuleOptions(int64_t in_channels, int64_t out_channels, std::vector<int64_t> kernel_size)
      : in_channels_(in_channels), out_channels_(out_channels), kernel_size_(std::move(kernel_size)) {}
  TORCH_ARG(int64_t, in_channels);
  TORCH_ARG(int64_t, out_channels);
  TORCH_ARG(std::vector<int64_t>, kernel_size);
  TORCH_ARG(std::vector<int64_t>, stride) = {1};
  TORCH_ARG(std::vector<int64_t>, padding) = {0};
  TORCH_ARG(std::vector<int64_t>, dilation) = {1};
  TORCH_ARG(int64_t, groups) = 1;
  TORCH_ARG(std::optional<bool>, bias) = std::nullopt;  // mmcv's bias='auto': no bias before a norm
  TORCH_ARG(ConvCfg, conv) = {};
  TORCH_ARG(NormCfg, norm) = {NormType::kNone};
  TORCH_ARG(ActCfg, act) = {};
};

// mmcv's build_activation_layer for the ActCfg types; empty for kNone.
torch::nn::AnyModule make_activation(const ActCfg& act);

class ConvModuleImpl : public torch::nn::Module, public PythonHooks {
 public:
  explicit ConvModuleImpl(const ConvModuleOptions& options);
  at::Tensor forward(at::Tensor x);

  // mmcv keeps its conv's kernel_size as its own attribute (torchinfo shows it),
  // and builds SiLU with inplace=True, which LibTorch's SiLU cannot hold.
  std::string python_kernel_size() const override;
  std::optional<std::string> python_child_extra_repr(const torch::nn::Module& child) const override;

  const ConvModuleOptions& options() const { return options_; }
  const std::shared_ptr<torch::nn::Module>& conv() const { return conv_; }
  const std::shared_ptr<torch::nn::Module>& norm() const { return norm_; }     // null without a norm
  const std::shared_ptr<torch::nn::Module>& activate() const { return act_; }  // null without an activation

 private:
  ConvModuleOptions options_;
  std::shared_ptr<torch::nn::Module> conv_, norm_, act_;
  torch::nn::AnyModule conv_call_, norm_call_, act_call_;
};
TORCH_MODULE(ConvModule);

}  // namespace reskit::layers
