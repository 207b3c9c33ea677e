#include "reskit/models/classification/seed_resnet.h"

#include <torch/nn/modules/batchnorm.h>

#include <string>

#include "reskit/core/error.h"
#include "reskit/core/module_call.h"
#include "reskit/layers/conv.h"

namespace reskit::models::classification::seed001 {
namespace {

// Shared body of the seed's conv3x3 / conv1x1 (padding 1 and 0).
layers::Sequential conv_bn(int64_t in_, int64_t out_, int64_t kernel, int64_t stride, bool initialzero) {
  torch::nn::BatchNorm2d bn(out_);
  if (initialzero) {
    at::NoGradGuard no_grad;
    bn->weight.zero_();  // gamma only: beta already starts at 0
  }
  return layers::make_sequential(
      layers::Conv2d(torch::nn::Conv2dOptions(in_, out_, kernel).padding(kernel / 2).stride(stride).bias(false)),
      bn);
}

torch::nn::ReLU inplace_relu() { return torch::nn::ReLU(torch::nn::ReLUOptions(true)); }

void check_positive(int64_t value, const char* what) {
  if (value < 1) throw Error(std::string("seed001: ") + what + " must be positive, got " + std::to_string(value));
}

}  // namespace

layers::Sequential conv3x3(int64_t in_, int64_t out_, int64_t stride, bool initialzero) {
  return conv_bn(in_, out_, 3, stride, initialzero);
}

layers::Sequential conv1x1(int64_t in_, int64_t out_, int64_t stride, bool initialzero) {
  return conv_bn(in_, out_, 1, stride, initialzero);
}

ResidualUnitImpl::ResidualUnitImpl(int64_t out_, int64_t stride1, std::optional<int64_t> /*in_*/)
    : torch::nn::Module("ResidualUnit"), stride1_(stride1) {
  check_positive(out_, "out_");
  // The seed applies skipconv only when stride1 == 2; any other stride would
  // add maps of different sizes, which Python fails on at the first forward.
  if (stride1 != 1 && stride1 != 2)
    throw Error("seed001: ResidualUnit supports stride1 1 or 2, got " + std::to_string(stride1));
  const int64_t in = stride1 != 1 ? out_ / 2 : out_;  // the seed's int(out_/2); in_ is overridden
  fit_ = register_module("fit_", layers::make_sequential(conv3x3(in, out_, stride1), inplace_relu(),
                                                         conv3x3(out_, out_, 1, /*initialzero=*/true)));
  skipconv = register_module("skipconv", conv1x1(in, out_, stride1));
  relu = register_module("relu", inplace_relu());
}

at::Tensor ResidualUnitImpl::forward(at::Tensor x) {
  at::Tensor fx = call(fit_, x);
  if (stride1_ == 2) x = call(skipconv, x);  // the seed's condition, so summaries list skipconv only here
  return call(relu, fx + x);
}

BottleneckImpl::BottleneckImpl(int64_t middle_out, int64_t stride1, std::optional<int64_t> in_)
    : torch::nn::Module("Bottleneck") {
  check_positive(middle_out, "middle_out");
  check_positive(stride1, "stride1");
  const int64_t out_ = 4 * middle_out;
  const int64_t in = in_.value_or(stride1 != 1 ? middle_out * 2 : middle_out * 4);
  check_positive(in, "in_");
  fit_ = register_module("fit_", layers::make_sequential(conv1x1(in, middle_out, stride1), inplace_relu(),
                                                         conv3x3(middle_out, middle_out), inplace_relu(),
                                                         conv1x1(middle_out, out_, 1, /*initialzero=*/true)));
  skipconv = register_module("skipconv", conv1x1(in, out_, stride1));
  relu = register_module("relu", inplace_relu());
}

at::Tensor BottleneckImpl::forward(at::Tensor x) {
  at::Tensor fx = call(fit_, x);
  x = call(skipconv, x);  // always: the seed takes in_ != out_ for granted
  return call(relu, fx + x);
}

layers::Sequential make_layers(SeedBlock block, int64_t middle_out, int64_t num_blocks, bool afterconv1) {
  // The seed always builds the first block, so num_blocks=0 would give one;
  // refuse it instead of building something the caller did not ask for.
  check_positive(num_blocks, "num_blocks");
  layers::Sequential stage;
  auto add = [&](int64_t stride1, std::optional<int64_t> in_) {
    if (block == SeedBlock::kResidualUnit)
      stage->push_back(ResidualUnit(middle_out, stride1, in_));
    else
      stage->push_back(Bottleneck(middle_out, stride1, in_));
  };
  if (afterconv1)
    add(1, 64);  // block(middle_out, in_=64): conv1's 64 maps, already halved by the max pool
  else
    add(2, std::nullopt);  // block(middle_out, stride1=2)
  for (int64_t i = 1; i < num_blocks; ++i) add(1, std::nullopt);
  return stage;
}

ResNetImpl::ResNetImpl(SeedBlock block, const std::vector<int64_t>& depths, int64_t num_classes)
    : torch::nn::Module("ResNet") {
  if (depths.size() != 4) throw Error("seed_resnet: layers needs 4 values, got " + std::to_string(depths.size()));
  check_positive(num_classes, "num_classes");
  layer1 = register_module(
      "layer1", layers::make_sequential(
                    layers::Conv2d(torch::nn::Conv2dOptions(3, 64, 7).stride(2).padding(3).bias(false)),
                    torch::nn::BatchNorm2d(64), inplace_relu(),
                    // no padding and ceil_mode=True, unlike torchvision's stem
                    torch::nn::MaxPool2d(torch::nn::MaxPool2dOptions(3).stride(2).ceil_mode(true))));
  layer2_x = register_module("layer2_x", make_layers(block, 64, depths[0], true));
  layer3_x = register_module("layer3_x", make_layers(block, 128, depths[1], false));
  layer4_x = register_module("layer4_x", make_layers(block, 256, depths[2], false));
  layer5_x = register_module("layer5_x", make_layers(block, 512, depths[3], false));
  avgpool = register_module("avgpool", torch::nn::AdaptiveAvgPool2d(torch::nn::AdaptiveAvgPool2dOptions({1, 1})));
  fc = register_module("fc", torch::nn::Linear(block == SeedBlock::kResidualUnit ? 512 : 2048, num_classes));
}

at::Tensor ResNetImpl::forward(at::Tensor x) {
  x = call(layer1, x);
  x = call(layer5_x, call(layer4_x, call(layer3_x, call(layer2_x, x))));
  x = call(avgpool, x).flatten(1);
  return call(fc, x);  // the seed forgets this return
}

}  // namespace reskit::models::classification::seed001
