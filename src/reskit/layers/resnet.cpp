#include "reskit/layers/resnet.h"

#include <torch/nn/init.h>

#include "reskit/core/error.h"
#include "reskit/core/module_call.h"
#include "reskit/layers/conv_helpers.h"

namespace reskit::layers {
namespace {

torch::nn::ReLU inplace_relu() { return torch::nn::ReLU(torch::nn::ReLUOptions(true)); }

}  // namespace

BasicBlockImpl::BasicBlockImpl(const BlockOptions& o, Sequential ds) : torch::nn::Module("BasicBlock") {
  if (o.groups() != 1 || o.base_width() != 64)
    throw Error("BasicBlock only supports groups=1 and base_width=64");
  if (o.dilation() > 1) throw Error("Dilation > 1 not supported in BasicBlock");
  conv1 = register_module("conv1", conv3x3(o.inplanes(), o.planes(), o.stride()));
  bn1 = register_module("bn1", BatchNorm2d(o.planes()));
  relu = register_module("relu", inplace_relu());
  conv2 = register_module("conv2", conv3x3(o.planes(), o.planes()));
  bn2 = register_module("bn2", BatchNorm2d(o.planes()));
  if (ds) downsample = register_module("downsample", ds);  // absent from the state dict otherwise
}

at::Tensor BasicBlockImpl::forward(at::Tensor x) {
  at::Tensor identity = x;
  at::Tensor out = call(relu, call(bn1, call(conv1, x)));
  out = call(bn2, call(conv2, out));
  if (downsample) identity = call(downsample, x);
  out += identity;
  return call(relu, out);
}

BottleneckImpl::BottleneckImpl(const BlockOptions& o, Sequential ds) : torch::nn::Module("Bottleneck") {
  const int64_t width = static_cast<int64_t>(o.planes() * (o.base_width() / 64.0)) * o.groups();
  conv1 = register_module("conv1", conv1x1(o.inplanes(), width));
  bn1 = register_module("bn1", BatchNorm2d(width));
  conv2 = register_module("conv2", conv3x3(width, width, o.stride(), o.groups(), o.dilation()));
  bn2 = register_module("bn2", BatchNorm2d(width));
  conv3 = register_module("conv3", conv1x1(width, o.planes() * kExpansion));
  bn3 = register_module("bn3", BatchNorm2d(o.planes() * kExpansion));
  relu = register_module("relu", inplace_relu());
  if (ds) downsample = register_module("downsample", ds);
}

at::Tensor BottleneckImpl::forward(at::Tensor x) {
  at::Tensor identity = x;
  at::Tensor out = call(relu, call(bn1, call(conv1, x)));
  out = call(relu, call(bn2, call(conv2, out)));
  out = call(bn3, call(conv3, out));
  if (downsample) identity = call(downsample, x);
  out += identity;
  return call(relu, out);
}

ResNetImpl::ResNetImpl(const ResNetOptions& o) : torch::nn::Module("ResNet"), options_(o) {
  if (o.layers().size() != 4)
    throw Error("ResNet: layers needs 4 values, got " + std::to_string(o.layers().size()));
  if (o.replace_stride_with_dilation().size() != 3)
    throw Error("replace_stride_with_dilation should be None or a 3-element tuple, got " +
                std::to_string(o.replace_stride_with_dilation().size()) + " values");
  if (o.strides().size() != 4)
    throw Error("ResNet: strides needs 4 values, got " + std::to_string(o.strides().size()));
  if (o.num_classes() < 1) throw Error("ResNet: num_classes must be positive, got " + std::to_string(o.num_classes()));
  if (o.groups() < 1 || o.width_per_group() < 1)
    throw Error("ResNet: groups and width_per_group must be positive");

  conv1 = register_module(
      "conv1", Conv2d(torch::nn::Conv2dOptions(3, inplanes_, 7).stride(2).padding(3).bias(false)));
  bn1 = register_module("bn1", BatchNorm2d(inplanes_));
  relu = register_module("relu", inplace_relu());
  maxpool = register_module("maxpool", torch::nn::MaxPool2d(torch::nn::MaxPool2dOptions(3).stride(2).padding(1)));
  const auto& dilate = o.replace_stride_with_dilation();
  const auto& s = o.strides();
  layer1 = register_module("layer1", make_layer(64, o.layers()[0], s[0], false));
  layer2 = register_module("layer2", make_layer(128, o.layers()[1], s[1], dilate[0]));
  layer3 = register_module("layer3", make_layer(256, o.layers()[2], s[2], dilate[1]));
  layer4 = register_module("layer4", make_layer(512, o.layers()[3], s[3], dilate[2]));
  avgpool = register_module("avgpool", torch::nn::AdaptiveAvgPool2d(torch::nn::AdaptiveAvgPool2dOptions({1, 1})));
  const int64_t expansion = o.block() == BlockKind::kBasic ? BasicBlockImpl::kExpansion : BottleneckImpl::kExpansion;
  fc = register_module("fc", torch::nn::Linear(512 * expansion, o.num_classes()));

  // torchvision's initialisation; Linear keeps LibTorch's default, which is PyTorch's.
  at::NoGradGuard no_grad;
  for (const auto& m : modules(/*include_self=*/false)) {
    if (auto* conv = m->as<torch::nn::Conv2d>()) {
      torch::nn::init::kaiming_normal_(conv->weight, 0.0, torch::kFanOut, torch::kReLU);
    } else if (auto* bn = m->as<torch::nn::BatchNorm2d>()) {
      bn->weight.fill_(1);
      bn->bias.zero_();
    }
  }
  if (o.zero_init_residual()) {
    for (const auto& m : modules(false)) {
      if (auto* b = m->as<Bottleneck>()) b->bn3->weight.zero_();
      if (auto* b = m->as<BasicBlock>()) b->bn2->weight.zero_();
    }
  }
}

Sequential ResNetImpl::make_layer(int64_t planes, int64_t blocks, int64_t stride, bool dilate) {
  const bool basic = options_.block() == BlockKind::kBasic;
  const int64_t expansion = basic ? BasicBlockImpl::kExpansion : BottleneckImpl::kExpansion;
  const int64_t previous_dilation = dilation_;
  if (dilate) {
    dilation_ *= stride;
    stride = 1;
  }
  Sequential downsample{nullptr};
  if (stride != 1 || inplanes_ != planes * expansion)
    downsample = make_sequential(conv1x1(inplanes_, planes * expansion, stride),
                                         BatchNorm2d(planes * expansion));
  Sequential stage;
  auto add = [&](const BlockOptions& bo, Sequential ds) {
    if (basic)
      stage->push_back(BasicBlock(bo, ds));
    else
      stage->push_back(Bottleneck(bo, ds));
  };
  const BlockOptions first = BlockOptions(inplanes_, planes)
                                 .stride(stride)
                                 .groups(options_.groups())
                                 .base_width(options_.width_per_group())
                                 .dilation(previous_dilation);
  add(first, downsample);
  inplanes_ = planes * expansion;
  for (int64_t i = 1; i < blocks; ++i)
    add(BlockOptions(inplanes_, planes)
            .groups(options_.groups())
            .base_width(options_.width_per_group())
            .dilation(dilation_),
        nullptr);
  return stage;
}

at::Tensor ResNetImpl::stem(at::Tensor x) { return call(maxpool, call(relu, call(bn1, call(conv1, x)))); }

at::Tensor ResNetImpl::forward(at::Tensor x) {
  x = stem(x);
  x = call(layer4, call(layer3, call(layer2, call(layer1, x))));
  x = call(avgpool, x).flatten(1);
  return call(fc, x);
}

std::vector<at::Tensor> ResNetImpl::forward_features(at::Tensor x) {
  std::vector<at::Tensor> stages;
  x = stem(x);
  for (auto* layer : {&layer1, &layer2, &layer3, &layer4}) {
    x = call(*layer, x);
    stages.push_back(x);
  }
  return stages;
}

}  // namespace reskit::layers
