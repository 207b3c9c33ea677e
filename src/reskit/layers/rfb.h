#pragma once
// RFBNet's receptive field blocks (models/RFB_Net_vgg.py), with its
// parameter names: BasicConv (conv, BatchNorm with momentum 0.01, ReLU),
// BasicRFB (three branches of growing dilation) and BasicRFB_a (four
// smaller branches, RFBNet's `Norm` on conv4_3). Both add the branches,
// scaled, to a 1x1 shortcut.
#include <torch/nn/module.h>
#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/pimpl.h>

#include "reskit/core/option_fields.h"
#include "reskit/layers/conv.h"
#include "reskit/layers/sequential.h"

namespace reskit::layers {

struct BasicConvOptions {
  BasicConvOptions(int64_t in_planes, int64_t out_planes, torch::ExpandingArray<2> kernel_size)
      : in_planes_(in_planes), out_planes_(out_planes), kernel_size_(kernel_size) {}
  TORCH_ARG(int64_t, in_planes);
  TORCH_ARG(int64_t, out_planes);
  TORCH_ARG(torch::ExpandingArray<2>, kernel_size);
  TORCH_ARG(torch::ExpandingArray<2>, stride) = 1;
  TORCH_ARG(torch::ExpandingArray<2>, padding) = 0;
  TORCH_ARG(torch::ExpandingArray<2>, dilation) = 1;
  TORCH_ARG(bool, relu) = true;
  TORCH_ARG(bool, bn) = true;
  TORCH_ARG(bool, bias) = false;
};

class BasicConvImpl : public torch::nn::Module {
 public:
  explicit BasicConvImpl(const BasicConvOptions& o);
  at::Tensor forward(at::Tensor x);
  int64_t out_channels() const { return out_channels_; }

  Conv2d conv{nullptr};
  torch::nn::BatchNorm2d bn{nullptr};  // absent with bn=false
  torch::nn::ReLU relu{nullptr};       // absent with relu=false

 private:
  int64_t out_channels_;
};
TORCH_MODULE(BasicConv);

// The options a user sets on the blocks (registry entries basic_rfb, basic_rfb_a).
struct BasicRFBOptions {
#define RESKIT_FIELDS(X)                                                          \
  X(int64_t, in_planes, 512, "input channels (the branches use in_planes / 8)")   \
  X(int64_t, out_planes, 512, "output channels")                                  \
  X(int64_t, stride, 1, "stride of the branches and the shortcut")                \
  X(double, scale, 0.1, "weight of the branches against the shortcut")            \
  X(int64_t, visual, 1, "dilation of the first branch (the others: +1, 2x+1)")
  RESKIT_OPTIONS(RESKIT_FIELDS)
#undef RESKIT_FIELDS
};

struct BasicRFBAOptions {
#define RESKIT_FIELDS(X)                                                                          \
  X(int64_t, in_planes, 512, "input channels (the branches use in_planes / 4)")                   \
  X(int64_t, out_planes, 512, "output channels")                                                  \
  X(int64_t, stride, 1, "1 only: other strides break the concatenation of the branches upstream") \
  X(double, scale, 0.1, "weight of the branches against the shortcut")
  RESKIT_OPTIONS(RESKIT_FIELDS)
#undef RESKIT_FIELDS
};

class BasicRFBImpl : public torch::nn::Module {
 public:
  explicit BasicRFBImpl(const BasicRFBOptions& o);
  at::Tensor forward(at::Tensor x);
  int64_t out_channels() const { return options_.out_planes(); }

  Sequential branch0{nullptr}, branch1{nullptr}, branch2{nullptr};
  BasicConv ConvLinear{nullptr}, shortcut{nullptr};
  torch::nn::ReLU relu{nullptr};

 private:
  BasicRFBOptions options_;
};
TORCH_MODULE(BasicRFB);

class BasicRFBAImpl : public torch::nn::Module {
 public:
  explicit BasicRFBAImpl(const BasicRFBAOptions& o);
  at::Tensor forward(at::Tensor x);

  Sequential branch0{nullptr}, branch1{nullptr}, branch2{nullptr}, branch3{nullptr};
  BasicConv ConvLinear{nullptr}, shortcut{nullptr};
  torch::nn::ReLU relu{nullptr};

 private:
  BasicRFBAOptions options_;
};
TORCH_MODULE(BasicRFBA);

}  // namespace reskit::layers
