#include "reskit/models/tracking/resnet_atrous.h"

#include <torch/nn/init.h>

#include <algorithm>

#include "reskit/core/error.h"
#include "reskit/core/module_call.h"

namespace reskit::models::tracking {
namespace {

layers::Conv2d conv(int64_t in, int64_t out, int64_t k, int64_t stride = 1, int64_t padding = 0, int64_t dilation = 1) {
  return layers::Conv2d(
      torch::nn::Conv2dOptions(in, out, k).stride(stride).padding(padding).dilation(dilation).bias(false));
}

torch::nn::ReLU inplace_relu() { return torch::nn::ReLU(torch::nn::ReLUOptions(true)); }

}  // namespace

AtrousBottleneckImpl::AtrousBottleneckImpl(int64_t inplanes, int64_t planes, int64_t stride,
                                           layers::Sequential ds, int64_t dilation)
    : torch::nn::Module("Bottleneck") {
  // Upstream's rule: padding 2 - stride (a stride-2 3x3 conv has none); the
  // first block of a dilated stage (the one with a downsample) runs at half the rate.
  int64_t padding = 2 - stride;
  if (ds && dilation > 1) {
    dilation /= 2;
    padding = dilation;
  }
  if (stride != 1 && dilation != 1) throw Error("Bottleneck: stride and dilation cannot both be above 1");
  if (dilation > 1) padding = dilation;
  conv1 = register_module("conv1", conv(inplanes, planes, 1));
  bn1 = register_module("bn1", torch::nn::BatchNorm2d(planes));
  conv2 = register_module("conv2", conv(planes, planes, 3, stride, padding, dilation));
  bn2 = register_module("bn2", torch::nn::BatchNorm2d(planes));
  conv3 = register_module("conv3", conv(planes, planes * kExpansion, 1));
  bn3 = register_module("bn3", torch::nn::BatchNorm2d(planes * kExpansion));
  relu = register_module("relu", inplace_relu());
  if (ds) downsample = register_module("downsample", ds);
}

at::Tensor AtrousBottleneckImpl::forward(at::Tensor x) {
  at::Tensor out = call(relu, call(bn1, call(conv1, x)));
  out = call(relu, call(bn2, call(conv2, out)));
  out = call(bn3, call(conv3, out));
  at::Tensor residual = downsample ? call(downsample, x) : x;
  out += residual;
  return call(relu, out);
}

AtrousResNetImpl::AtrousResNetImpl(std::vector<int64_t> blocks, std::vector<int64_t> used_layers)
    : torch::nn::Module("ResNet"), used_layers_(std::move(used_layers)) {
  if (blocks.size() != 4) throw Error("ResNet: layers needs 4 values, got " + std::to_string(blocks.size()));
  if (used_layers_.empty()) throw Error("ResNet: used_layers is empty");
  for (int64_t l : used_layers_)
    if (l < 0 || l > 4) throw Error("ResNet: used_layers takes 0..4, got " + std::to_string(l));
  const int64_t last = *std::max_element(used_layers_.begin(), used_layers_.end());

  conv1 = register_module("conv1", conv(3, 64, 7, 2, 0));
  bn1 = register_module("bn1", torch::nn::BatchNorm2d(64));
  relu = register_module("relu", inplace_relu());
  maxpool = register_module("maxpool", torch::nn::MaxPool2d(torch::nn::MaxPool2dOptions(3).stride(2).padding(1)));
  layer1 = register_module("layer1", make_layer(64, blocks[0], 1, 1));
  layer2 = register_module("layer2", make_layer(128, blocks[1], 2, 1));
  // Upstream builds layer3 when 3 or 4 is used and layer4 when 4 is.
  if (last >= 3) layer3 = register_module("layer3", make_layer(256, blocks[2], 1, 2));
  if (last >= 4) layer4 = register_module("layer4", make_layer(512, blocks[3], 1, 4));

  // Upstream's initialisation: N(0, sqrt(2 / (k * k * out))), BatchNorm 1 and 0.
  at::NoGradGuard no_grad;
  for (const auto& m : modules(/*include_self=*/false)) {
    if (auto* c = m->as<torch::nn::Conv2d>()) {
      torch::nn::init::kaiming_normal_(c->weight, 0.0, torch::kFanOut, torch::kReLU);
    } else if (auto* bn = m->as<torch::nn::BatchNorm2d>()) {
      bn->weight.fill_(1);
      bn->bias.zero_();
    }
  }
}

layers::Sequential AtrousResNetImpl::make_layer(int64_t planes, int64_t blocks, int64_t stride, int64_t dilation) {
  const int64_t out = planes * AtrousBottleneckImpl::kExpansion;
  layers::Sequential downsample{nullptr};
  if (stride != 1 || inplanes_ != out) {
    if (stride == 1 && dilation == 1) {
      downsample = layers::make_sequential(conv(inplanes_, out, 1), torch::nn::BatchNorm2d(out));
    } else {
      // A 3x3 downsample: no padding with stride 2; at half the stage's rate when dilated.
      const int64_t dd = dilation > 1 ? dilation / 2 : 1;
      const int64_t padding = dilation > 1 ? dd : 0;
      downsample = layers::make_sequential(conv(inplanes_, out, 3, stride, padding, dd), torch::nn::BatchNorm2d(out));
    }
  }
  layers::Sequential stage;
  stage->push_back(AtrousBottleneck(inplanes_, planes, stride, downsample, dilation));
  inplanes_ = out;
  for (int64_t i = 1; i < blocks; ++i) stage->push_back(AtrousBottleneck(inplanes_, planes, 1, nullptr, dilation));
  return stage;
}

std::vector<at::Tensor> AtrousResNetImpl::forward(at::Tensor x) {
  at::Tensor stem = call(relu, call(bn1, call(conv1, x)));
  std::vector<at::Tensor> outs{stem};
  x = call(maxpool, stem);
  for (auto* layer : {&layer1, &layer2, &layer3, &layer4}) {
    if (!*layer) break;
    x = call(*layer, x);
    outs.push_back(x);
  }
  std::vector<at::Tensor> used;
  for (int64_t l : used_layers_) used.push_back(outs[static_cast<size_t>(l)]);
  return used;
}

}  // namespace reskit::models::tracking
