#include "reskit/models/segmentation/encnet.h"

#include <ATen/ops/upsample_bilinear2d.h>

#include <string>

#include "reskit/core/error.h"
#include "reskit/core/module_call.h"
#include "reskit/layers/batch_norm.h"

namespace reskit::models::segmentation {
namespace {

layers::Conv2d conv(int64_t in, int64_t out, int64_t kernel) {
  return layers::Conv2d(torch::nn::Conv2dOptions(in, out, kernel).padding(kernel / 2));
}

void check_positive(const char* name, int64_t value) {
  if (value < 1) throw Error(std::string("encnet: ") + name + " must be positive, got " + std::to_string(value));
}

// F.interpolate(x, size, mode="bilinear") with align_corners left False.
at::Tensor resize_bilinear(const at::Tensor& x, at::IntArrayRef size) {
  return at::upsample_bilinear2d(x, size, /*align_corners=*/false);
}

}  // namespace

layers::ResNetOptions encnet_backbone_options(const EncNetOptions& o) {
  using layers::BlockKind;
  layers::ResNetOptions net(BlockKind::kBottleneck, {3, 4, 6, 3});
  switch (o.backbone()) {
    case EncNetBackbone::kResNet18: net = layers::ResNetOptions(BlockKind::kBasic, {2, 2, 2, 2}); break;
    case EncNetBackbone::kResNet34: net = layers::ResNetOptions(BlockKind::kBasic, {3, 4, 6, 3}); break;
    case EncNetBackbone::kResNet50: break;
    case EncNetBackbone::kResNet101: net = layers::ResNetOptions(BlockKind::kBottleneck, {3, 4, 23, 3}); break;
  }
  if (o.dilated()) {
    if (net.block() == BlockKind::kBasic)
      throw Error("encnet: dilated needs a Bottleneck backbone (resnet50, resnet101): BasicBlock has no dilation");
    return net.strides({1, 2, 2, 2}).replace_stride_with_dilation({false, true, true});
  }
  return net.strides({1, 1, 2, 1});
}

EncModuleImpl::EncModuleImpl(int64_t in_channels, int64_t num_codes) : torch::nn::Module("EncModule") {
  encoding_project = register_module("encoding_project", conv(in_channels, in_channels, 1));
  encoding = register_module("encoding", layers::make_sequential(layers::Encoding(in_channels, num_codes),
                                                                 layers::BatchNorm1d(num_codes),
                                                                 torch::nn::ReLU(torch::nn::ReLUOptions(true))));
  fc = register_module("fc", layers::make_sequential(torch::nn::Linear(in_channels, in_channels), torch::nn::Sigmoid()));
}

std::pair<at::Tensor, at::Tensor> EncModuleImpl::forward(const at::Tensor& x) {
  const at::Tensor projected = call(encoding_project, x);
  const at::Tensor encoded = call(encoding, projected).mean(1);  // N x C
  const at::Tensor gamma = call(fc, encoded).view({x.size(0), x.size(1), 1, 1});
  return {encoded, at::relu(x + x * gamma)};
}

EncHeadImpl::EncHeadImpl(const EncNetOptions& o, std::vector<int64_t> in_channels) : torch::nn::Module("EncHead") {
  const int64_t channels = o.head_channels();
  bottleneck = register_module("bottleneck", conv(in_channels.back(), channels, 3));
  if (o.add_lateral()) {
    lateral_convs = register_module("lateral_convs", torch::nn::ModuleList());
    for (size_t i = 0; i + 1 < in_channels.size(); ++i) {
      laterals_.push_back(conv(in_channels[i], channels, 1));
      lateral_convs->push_back(laterals_.back());
    }
    fusion = register_module("fusion", conv(static_cast<int64_t>(in_channels.size()) * channels, channels, 3));
  }
  enc_module = register_module("enc_module", EncModule(channels, o.num_codes()));
  cls_seg = register_module("cls_seg", layers::make_sequential(conv(channels, o.seg_channels(), 3),
                                                               layers::BatchNorm2d(o.seg_channels()),
                                                               torch::nn::ReLU(), conv(o.seg_channels(), o.num_classes(), 3)));
  if (o.use_se_loss()) se_layer = register_module("se_layer", torch::nn::Linear(channels, o.num_classes()));
}

std::vector<at::Tensor> EncHeadImpl::forward(const std::vector<at::Tensor>& inputs) {
  at::Tensor feat = call(bottleneck, inputs.back());
  if (!laterals_.empty()) {
    std::vector<at::Tensor> parts = {feat};
    for (size_t i = 0; i < laterals_.size(); ++i)
      parts.push_back(resize_bilinear(call(laterals_[i], inputs[i]), {feat.size(2), feat.size(3)}));
    feat = call(fusion, at::cat(parts, 1));
  }
  auto [encoded, output] = call(enc_module, feat);
  // F.interpolate(scale_factor=8, mode="bilinear"): the output is exactly 8x, so its scales are 1/8.
  output = at::upsample_bilinear2d(output, {output.size(2) * 8, output.size(3) * 8}, false, 8.0, 8.0);
  output = call(cls_seg, output);
  if (!se_layer) return {output};
  return {output, call(se_layer, encoded)};
}

ENCNetImpl::ENCNetImpl(const EncNetOptions& o) : torch::nn::Module("ENCNet") {
  check_positive("num_classes", o.num_classes());
  check_positive("num_codes", o.num_codes());
  check_positive("head_channels", o.head_channels());
  check_positive("seg_channels", o.seg_channels());
  const layers::ResNetOptions net = encnet_backbone_options(o);
  backbone = register_module("backbone", layers::ResNet(net));
  const int64_t expansion = net.block() == layers::BlockKind::kBasic ? 1 : 4;
  const std::vector<int64_t> widths = {64 * expansion, 128 * expansion, 256 * expansion, 512 * expansion};
  decoder = register_module("decoder", EncHead(o, widths));
}

std::vector<at::Tensor> ENCNetImpl::forward(const at::Tensor& x) {
  if (x.dim() != 4 || x.size(2) % 8 != 0 || x.size(3) % 8 != 0)
    throw Error("encnet: the input must be N x 3 x H x W with H and W multiples of 8, got " +
                std::to_string(x.dim()) + "-d " + (x.dim() == 4 ? std::to_string(x.size(2)) + "x" + std::to_string(x.size(3)) : ""));
  return call(decoder, call_method(backbone, &layers::ResNetImpl::forward_features, x));
}

}  // namespace reskit::models::segmentation
