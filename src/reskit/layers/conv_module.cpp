#include "reskit/layers/conv_module.h"

#include <torch/nn/init.h>

#include "reskit/core/error.h"
#include "reskit/core/text_format.h"
#include "reskit/layers/conv.h"
#include "reskit/layers/sequential.h"

namespace reskit::layers {
namespace {

template <size_t D>
torch::ExpandingArray<D> expand(const std::vector<int64_t>& values, const char* what) {
  if (values.size() == 1) return torch::ExpandingArray<D>(values[0]);
  if (values.size() != D)
    throw Error(std::string("ConvModule: ") + what + " needs 1 or " + std::to_string(D) + " values, got " +
                std::to_string(values.size()));
  return torch::ExpandingArray<D>(at::IntArrayRef(values));
}

template <size_t D, typename Conv, typename ConvOptions>
Conv make_conv(const ConvModuleOptions& o, bool bias) {
  return Conv(ConvOptions(o.in_channels(), o.out_channels(), expand<D>(o.kernel_size(), "kernel_size"))
                  .stride(expand<D>(o.stride(), "stride"))
                  .padding(expand<D>(o.padding(), "padding"))
                  .dilation(expand<D>(o.dilation(), "dilation"))
                  .groups(o.groups())
                  .bias(bias));
}

template <typename BN, typename BNOptions>
BN make_bn(const ConvModuleOptions& o) {
  return BN(BNOptions(o.out_channels()).eps(o.norm().eps).momentum(o.norm().momentum));
}

// mmcv's kaiming_init(mode='fan_out', distribution='normal') for the conv, constant 1/0 for the norm.
void init_conv(torch::nn::Module& conv, const ActCfg& act) {
  at::NoGradGuard no_grad;
  for (auto& p : conv.named_parameters(false)) {
    if (p.key() == "weight") {
      if (act.type == ActType::kLeakyReLU)
        torch::nn::init::kaiming_normal_(p.value(), act.negative_slope, torch::kFanOut, torch::kLeakyReLU);
      else
        torch::nn::init::kaiming_normal_(p.value(), 0.0, torch::kFanOut, torch::kReLU);
    } else {
      p.value().zero_();
    }
  }
}

}  // namespace

torch::nn::AnyModule make_activation(const ActCfg& a) {
  switch (a.type) {
    case ActType::kNone: return {};
    case ActType::kReLU: return torch::nn::AnyModule(torch::nn::ReLU(torch::nn::ReLUOptions(a.inplace)));
    case ActType::kLeakyReLU:
      return torch::nn::AnyModule(
          torch::nn::LeakyReLU(torch::nn::LeakyReLUOptions().negative_slope(a.negative_slope).inplace(a.inplace)));
    case ActType::kSiLU: return torch::nn::AnyModule(torch::nn::SiLU());
    case ActType::kSigmoid: return torch::nn::AnyModule(torch::nn::Sigmoid());
  }
  return {};
}

ConvModuleImpl::ConvModuleImpl(const ConvModuleOptions& o) : torch::nn::Module("ConvModule"), options_(o) {
  const int dims = o.conv().dims;
  const bool with_norm = o.norm().type != NormType::kNone;
  const bool bias = o.bias().value_or(!with_norm);
  switch (dims) {
    case 1: conv_call_ = torch::nn::AnyModule(make_conv<1, Conv1d, torch::nn::Conv1dOptions>(o, bias)); break;
    case 2: conv_call_ = torch::nn::AnyModule(make_conv<2, Conv2d, torch::nn::Conv2dOptions>(o, bias)); break;
    case 3: conv_call_ = torch::nn::AnyModule(make_conv<3, Conv3d, torch::nn::Conv3dOptions>(o, bias)); break;
    default: throw Error("ConvModule: conv dims must be 1, 2 or 3, got " + std::to_string(dims));
  }
  conv_ = register_module("conv", conv_call_.ptr());
  init_conv(*conv_, o.act());

  if (o.norm().type == NormType::kBN) {
    if (dims == 1) norm_call_ = torch::nn::AnyModule(make_bn<torch::nn::BatchNorm1d, torch::nn::BatchNorm1dOptions>(o));
    if (dims == 2) norm_call_ = torch::nn::AnyModule(make_bn<torch::nn::BatchNorm2d, torch::nn::BatchNorm2dOptions>(o));
    if (dims == 3) norm_call_ = torch::nn::AnyModule(make_bn<torch::nn::BatchNorm3d, torch::nn::BatchNorm3dOptions>(o));
    norm_ = register_module("bn", norm_call_.ptr());
  } else if (o.norm().type == NormType::kGN) {
    if (o.out_channels() % o.norm().num_groups != 0)
      throw Error("ConvModule: GN with " + std::to_string(o.norm().num_groups) + " groups cannot split " +
                  std::to_string(o.out_channels()) + " channels");
    norm_call_ = torch::nn::AnyModule(torch::nn::GroupNorm(
        torch::nn::GroupNormOptions(o.norm().num_groups, o.out_channels()).eps(o.norm().eps)));
    norm_ = register_module("gn", norm_call_.ptr());
  }
  if (norm_ && !o.norm().requires_grad)
    for (auto& p : norm_->parameters()) p.requires_grad_(false);

  const ActCfg& a = o.act();
  act_call_ = make_activation(a);
  if (a.type != ActType::kNone) act_ = register_module("activate", act_call_.ptr());
}

std::string ConvModuleImpl::python_kernel_size() const {
  std::vector<int64_t> kernel = options_.kernel_size();
  if (kernel.size() == 1) kernel.assign(options_.conv().dims, kernel[0]);
  return python_list(kernel);
}

std::optional<std::string> ConvModuleImpl::python_child_extra_repr(const torch::nn::Module& child) const {
  if (&child == act_.get() && options_.act().type == ActType::kSiLU)
    return std::string(options_.act().inplace ? "inplace=True" : "");
  return std::nullopt;
}

at::Tensor ConvModuleImpl::forward(at::Tensor x) {
  x = call_any(conv_call_, x);
  if (norm_) x = call_any(norm_call_, x);
  if (act_) x = call_any(act_call_, x);
  return x;
}

}  // namespace reskit::layers
