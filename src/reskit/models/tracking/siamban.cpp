#include "reskit/models/tracking/siamban.h"

#include <ATen/ops/conv2d.h>
#include <torch/nn/modules/activation.h>

#include "reskit/core/error.h"
#include "reskit/core/module_call.h"

namespace reskit::models::tracking {
namespace {

constexpr int64_t kCropBelow = 20, kCropStart = 4, kCropSize = 7;

layers::Conv2d conv(int64_t in, int64_t out, int64_t k, bool bias) {
  return layers::Conv2d(torch::nn::Conv2dOptions(in, out, k).bias(bias));
}

torch::nn::ReLU inplace_relu() { return torch::nn::ReLU(torch::nn::ReLUOptions(true)); }

// Levels are named from 2 up, after the backbone layers they come from.
std::string level_name(const char* prefix, size_t i) { return prefix + std::to_string(i + 2); }

}  // namespace

AdjustLayerImpl::AdjustLayerImpl(int64_t in_channels, int64_t out_channels) : torch::nn::Module("AdjustLayer") {
  downsample = register_module(
      "downsample", layers::make_sequential(conv(in_channels, out_channels, 1, false), torch::nn::BatchNorm2d(out_channels)));
}

at::Tensor AdjustLayerImpl::forward(at::Tensor x) {
  x = call(downsample, x);
  if (x.size(3) < kCropBelow) {
    using at::indexing::Slice;
    x = x.index({Slice(), Slice(), Slice(kCropStart, kCropStart + kCropSize), Slice(kCropStart, kCropStart + kCropSize)});
  }
  return x;
}

AdjustAllLayerImpl::AdjustAllLayerImpl(const std::vector<int64_t>& in_channels, const std::vector<int64_t>& out_channels)
    : torch::nn::Module("AdjustAllLayer") {
  if (in_channels.size() != out_channels.size() || in_channels.empty())
    throw Error("AdjustAllLayer: in_channels and out_channels need the same, non-zero, number of values");
  // Upstream's neck names a single level plain "downsample".
  const bool single = in_channels.size() == 1;
  for (size_t i = 0; i < in_channels.size(); ++i)
    levels.push_back(register_module(single ? "downsample" : level_name("downsample", i),
                                     AdjustLayer(in_channels[i], out_channels[i])));
}

std::vector<at::Tensor> AdjustAllLayerImpl::forward(const std::vector<at::Tensor>& features) {
  if (features.size() != levels.size())
    throw Error("AdjustAllLayer: " + std::to_string(levels.size()) + " levels, got " + std::to_string(features.size()));
  std::vector<at::Tensor> out;
  for (size_t i = 0; i < levels.size(); ++i) out.push_back(call(levels[i], features[i]));
  return out;
}

DepthwiseXCorrImpl::DepthwiseXCorrImpl(int64_t in_channels, int64_t hidden, int64_t out_channels, int64_t kernel_size)
    : torch::nn::Module("DepthwiseXCorr") {
  conv_kernel = register_module("conv_kernel", layers::make_sequential(conv(in_channels, hidden, kernel_size, false),
                                                                       torch::nn::BatchNorm2d(hidden), inplace_relu()));
  conv_search = register_module("conv_search", layers::make_sequential(conv(in_channels, hidden, kernel_size, false),
                                                                       torch::nn::BatchNorm2d(hidden), inplace_relu()));
  head = register_module("head", layers::make_sequential(conv(hidden, hidden, 1, false), torch::nn::BatchNorm2d(hidden),
                                                         inplace_relu(), conv(hidden, out_channels, 1, true)));
}

at::Tensor DepthwiseXCorrImpl::kernel(const at::Tensor& z) { return call(conv_kernel, z); }

at::Tensor DepthwiseXCorrImpl::search(const at::Tensor& kernel, const at::Tensor& x) {
  return call(head, xcorr_depthwise(call(conv_search, x), kernel));
}

at::Tensor DepthwiseXCorrImpl::forward(at::Tensor kernel, at::Tensor search) {
  return this->search(this->kernel(kernel), search);
}

at::Tensor xcorr_depthwise(const at::Tensor& x, const at::Tensor& kernel) {
  const int64_t batch = kernel.size(0), channels = kernel.size(1);
  if (x.size(0) != batch || x.size(1) != channels)
    throw Error("xcorr_depthwise: search " + std::to_string(x.size(0)) + "x" + std::to_string(x.size(1)) +
                " and template " + std::to_string(batch) + "x" + std::to_string(channels) + " do not pair up");
  // One group per (sample, channel): the batch folds into the channels.
  const at::Tensor out = at::conv2d(x.reshape({1, batch * channels, x.size(2), x.size(3)}),
                                    kernel.reshape({batch * channels, 1, kernel.size(2), kernel.size(3)}), at::Tensor(),
                                    at::IntArrayRef{1}, at::IntArrayRef{0}, at::IntArrayRef{1}, batch * channels);
  return out.view({batch, channels, out.size(2), out.size(3)});
}

DepthwiseBANImpl::DepthwiseBANImpl(int64_t in_channels, int64_t out_channels, int64_t cls_out_channels)
    : torch::nn::Module("DepthwiseBAN") {
  cls = register_module("cls", DepthwiseXCorr(in_channels, out_channels, cls_out_channels));
  loc = register_module("loc", DepthwiseXCorr(in_channels, out_channels, 4));
}

std::pair<at::Tensor, at::Tensor> DepthwiseBANImpl::forward(at::Tensor z, at::Tensor x) {
  return {call(cls, z, x), call(loc, z, x)};
}

MultiBANImpl::MultiBANImpl(const std::vector<int64_t>& in_channels, int64_t cls_out_channels, bool weighted)
    : torch::nn::Module("MultiBAN"), weighted_(weighted) {
  if (cls_out_channels < 1) throw Error("MultiBAN: cls_out_channels must be positive");
  const int64_t n = static_cast<int64_t>(in_channels.size());
  if (weighted) {
    cls_weight = register_parameter("cls_weight", at::ones({n}));
    loc_weight = register_parameter("loc_weight", at::ones({n}));
  }
  loc_scale = register_parameter("loc_scale", at::ones({n}));
  for (size_t i = 0; i < in_channels.size(); ++i)
    boxes.push_back(register_module(level_name("box", i),
                                    DepthwiseBAN(in_channels[i], in_channels[i], cls_out_channels)));
}

TemplateKernels MultiBANImpl::kernels(const std::vector<at::Tensor>& z) {
  if (z.size() != boxes.size())
    throw Error("MultiBAN: " + std::to_string(boxes.size()) + " levels, got " + std::to_string(z.size()));
  TemplateKernels k;
  for (size_t i = 0; i < boxes.size(); ++i) {
    k.cls.push_back(boxes[i]->cls->kernel(z[i]));
    k.loc.push_back(boxes[i]->loc->kernel(z[i]));
  }
  return k;
}

std::pair<at::Tensor, at::Tensor> MultiBANImpl::search(const TemplateKernels& k, const std::vector<at::Tensor>& x) {
  if (x.size() != boxes.size() || k.cls.size() != boxes.size() || k.loc.size() != boxes.size())
    throw Error("MultiBAN: " + std::to_string(boxes.size()) + " levels, got " + std::to_string(x.size()));
  std::vector<at::Tensor> cls, loc;
  for (size_t i = 0; i < boxes.size(); ++i) {
    cls.push_back(boxes[i]->cls->search(k.cls[i], x[i]));
    loc.push_back(boxes[i]->loc->search(k.loc[i], x[i]));
  }
  return fuse(cls, loc);
}

std::pair<at::Tensor, at::Tensor> MultiBANImpl::forward(const std::vector<at::Tensor>& z,
                                                        const std::vector<at::Tensor>& x) {
  if (z.size() != boxes.size() || x.size() != boxes.size())
    throw Error("MultiBAN: " + std::to_string(boxes.size()) + " levels, got " + std::to_string(x.size()));
  std::vector<at::Tensor> cls, loc;
  for (size_t i = 0; i < boxes.size(); ++i) {
    auto [c, l] = call(boxes[i], z[i], x[i]);
    cls.push_back(c);
    loc.push_back(l);
  }
  return fuse(cls, loc);
}

std::pair<at::Tensor, at::Tensor> MultiBANImpl::fuse(const std::vector<at::Tensor>& cls,
                                                     const std::vector<at::Tensor>& loc) {
  // Upstream's sums start from 0 and add level by level; so do these.
  const at::Tensor cls_w = weighted_ ? at::softmax(cls_weight, 0) : at::Tensor();
  const at::Tensor loc_w = weighted_ ? at::softmax(loc_weight, 0) : at::Tensor();
  at::Tensor c_sum, l_sum;
  for (size_t i = 0; i < cls.size(); ++i) {
    const int64_t l = static_cast<int64_t>(i);
    at::Tensor c = cls[i], b = at::exp(loc[i] * loc_scale[l]);
    if (weighted_) {
      c = c * cls_w[l];
      b = b * loc_w[l];
    }
    c_sum = i == 0 ? c : c_sum + c;
    l_sum = i == 0 ? b : l_sum + b;
  }
  if (!weighted_) {
    c_sum = c_sum / static_cast<double>(cls.size());
    l_sum = l_sum / static_cast<double>(cls.size());
  }
  return {c_sum, l_sum};
}

SiamBANImpl::SiamBANImpl(const SiamBANOptions& o) : torch::nn::Module("ModelBuilder") {
  // siamban_r50_l234: ResNet-50's layer2..layer4, each adjusted to 256 channels.
  const std::vector<int64_t> channels = {512, 1024, 2048}, width = {256, 256, 256};
  backbone = register_module("backbone", AtrousResNet(std::vector<int64_t>{3, 4, 6, 3}, std::vector<int64_t>{2, 3, 4}));
  neck = register_module("neck", AdjustAllLayer(channels, width));
  head = register_module("head", MultiBAN(width, o.cls_out_channels(), o.weighted()));
}

std::vector<at::Tensor> SiamBANImpl::template_features(const at::Tensor& z) { return call(neck, call(backbone, z)); }

TemplateKernels SiamBANImpl::template_kernels(const at::Tensor& z) { return head->kernels(template_features(z)); }

std::pair<at::Tensor, at::Tensor> SiamBANImpl::track(const at::Tensor& x, const TemplateKernels& kernels) {
  return head->search(kernels, call(neck, call(backbone, x)));
}

std::pair<at::Tensor, at::Tensor> SiamBANImpl::forward(at::Tensor z, at::Tensor x) {
  // Template first, as upstream's template() then track() (argument order is unspecified).
  const std::vector<at::Tensor> zf = template_features(z);
  const std::vector<at::Tensor> xf = call(neck, call(backbone, x));
  return call(head, zf, xf);
}

}  // namespace reskit::models::tracking
