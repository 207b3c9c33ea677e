#pragma once
// The conv + BatchNorm + activation blocks of the YOLO code bases, with their
// parameter names: YOLOv5's and YOLOv7's `Conv` (children conv, bn, act),
// YOLOv6's `ConvModule` (the same) and its `ConvBNReLU`/`ConvBNSiLU`
// wrappers (child `block`). Padding is 'same' (kernel // 2), the conv has no
// bias. The BatchNorm eps is the modules' own 1e-5 unless `bn_eps` says
// otherwise: YOLO checkpoints were trained with 1e-3, which their training
// code sets after construction and which the state dict does not hold.
#include <torch/nn/module.h>
#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/container/any.h>
#include <torch/nn/pimpl.h>

#include "reskit/layers/conv.h"

namespace reskit::layers {

enum class YoloAct { kSiLU, kReLU };

struct YoloConvOptions {
  YoloConvOptions(int64_t in_channels, int64_t out_channels, int64_t kernel_size = 1, int64_t stride = 1)
      : in_channels_(in_channels), out_channels_(out_channels), kernel_size_(kernel_size), stride_(stride) {}
  TORCH_ARG(int64_t, in_channels);
  TORCH_ARG(int64_t, out_channels);
  TORCH_ARG(int64_t, kernel_size);
  TORCH_ARG(int64_t, stride);
  TORCH_ARG(double, bn_eps) = 1e-5;
  TORCH_ARG(YoloAct, act) = YoloAct::kSiLU;
};

// conv -> bn -> act, under the Python class name given (YOLOv5/v7 "Conv",
// YOLOv6 "ConvModule").
class YoloConvImpl : public torch::nn::Module {
 public:
  explicit YoloConvImpl(const YoloConvOptions& o, const char* python_class = "Conv");
  at::Tensor forward(at::Tensor x);

  Conv2d conv{nullptr};
  torch::nn::BatchNorm2d bn{nullptr};
  torch::nn::AnyModule act;
};
TORCH_MODULE(YoloConv);

// YOLOv6's ConvBNReLU / ConvBNSiLU: a ConvModule under `block`.
class ConvBNActImpl : public torch::nn::Module {
 public:
  explicit ConvBNActImpl(const YoloConvOptions& o);
  at::Tensor forward(at::Tensor x);

  YoloConv block{nullptr};
};
TORCH_MODULE(ConvBNAct);

}  // namespace reskit::layers
