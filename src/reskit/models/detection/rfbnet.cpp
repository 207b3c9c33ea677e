#include "reskit/models/detection/rfbnet.h"

#include <torch/nn/modules/pooling.h>

#include <string>

#include "reskit/core/error.h"
#include "reskit/core/module_call.h"
#include "reskit/layers/sequential.h"

namespace reskit::models::detection {
namespace {

// The VGG16 of SSD: conv3's pool rounds up ('C'), pool5 is 3x3 stride 1, and
// fc6/fc7 are convolutions (fc6 dilated 6).
constexpr int64_t kPoolM = -1, kPoolC = -2;
const std::vector<int64_t> kVggConfig = {64,  64,  kPoolM, 128, 128, kPoolM, 256, 256, 256,
                                         kPoolC, 512, 512, 512, kPoolM, 512, 512, 512};
constexpr int64_t kConv43End = 23;  // base[0:23] ends with conv4_3's ReLU

layers::Conv2d conv3x3(int64_t in, int64_t out, int64_t padding = 1, int64_t dilation = 1) {
  return layers::Conv2d(torch::nn::Conv2dOptions(in, out, 3).padding(padding).dilation(dilation));
}

std::vector<torch::nn::AnyModule> vgg() {
  std::vector<torch::nn::AnyModule> out;
  auto relu = [] { return torch::nn::AnyModule(torch::nn::ReLU(torch::nn::ReLUOptions(true))); };
  int64_t in = 3;
  for (int64_t v : kVggConfig) {
    if (v == kPoolM) {
      out.emplace_back(torch::nn::MaxPool2d(torch::nn::MaxPool2dOptions(2).stride(2)));
    } else if (v == kPoolC) {
      out.emplace_back(torch::nn::MaxPool2d(torch::nn::MaxPool2dOptions(2).stride(2).ceil_mode(true)));
    } else {
      out.emplace_back(conv3x3(in, v));
      out.push_back(relu());
      in = v;
    }
  }
  out.emplace_back(torch::nn::MaxPool2d(torch::nn::MaxPool2dOptions(3).stride(1).padding(1)));
  out.emplace_back(conv3x3(512, 1024, 6, 6));
  out.push_back(relu());
  out.emplace_back(layers::Conv2d(torch::nn::Conv2dOptions(1024, 1024, 1)));
  out.push_back(relu());
  return out;
}

layers::BasicRFB rfb(int64_t in, int64_t out, int64_t stride, int64_t visual) {
  return layers::BasicRFB(layers::BasicRFBOptions().in_planes(in).out_planes(out).stride(stride).scale(1.0).visual(visual));
}

layers::BasicConv basic(int64_t in, int64_t out, int64_t kernel, int64_t padding = 0) {
  return layers::BasicConv(layers::BasicConvOptions(in, out, kernel).padding(padding));
}

// add_extras(): three (300) or five (512) BasicRFBs, then plain BasicConvs
// that shrink the last maps to 1x1. Also returns each layer's out channels.
std::vector<std::pair<torch::nn::AnyModule, int64_t>> extra_layers(int64_t size) {
  std::vector<std::pair<torch::nn::AnyModule, int64_t>> out;
  out.emplace_back(rfb(1024, 1024, 1, 2), 1024);
  out.emplace_back(rfb(1024, 512, 2, 2), 512);
  out.emplace_back(rfb(512, 256, 2, 2), 256);
  if (size == 512) {
    out.emplace_back(rfb(256, 256, 2, 1), 256);  // upstream: visual 1 once the input has 256 channels at 512
    out.emplace_back(rfb(256, 256, 2, 1), 256);
    out.emplace_back(basic(256, 128, 1), 128);
    out.emplace_back(basic(128, 256, 4, 1), 256);
  } else {
    out.emplace_back(basic(256, 128, 1), 128);
    out.emplace_back(basic(128, 256, 3), 256);
    out.emplace_back(basic(256, 128, 1), 128);
    out.emplace_back(basic(128, 256, 3), 256);
  }
  return out;
}

}  // namespace

RFBNetImpl::RFBNetImpl(const RFBNetOptions& o) : torch::nn::Module("RFBNet"), options_(o) {
  if (o.size() != 300 && o.size() != 512)
    throw Error("RFBNet: size must be 300 or 512, got " + std::to_string(o.size()));
  if (o.num_classes() < 2)
    throw Error("RFBNet: num_classes counts the background too, so at least 2; got " + std::to_string(o.num_classes()));
  indicator_ = o.size() == 300 ? 3 : 5;
  const std::vector<int64_t> boxes_per_cell =
      o.size() == 300 ? std::vector<int64_t>{6, 6, 6, 6, 4, 4} : std::vector<int64_t>{6, 6, 6, 6, 6, 4, 4};

  base = register_module("base", torch::nn::ModuleList());
  for (auto& layer : vgg()) {
    base->push_back(layer.ptr());
    base_.push_back(std::move(layer));
  }
  Norm = register_module("Norm", layers::BasicRFBA(layers::BasicRFBAOptions().in_planes(512).out_planes(512).scale(1.0)));
  extras = register_module("extras", torch::nn::ModuleList());
  std::vector<int64_t> source_channels{512};
  int64_t k = 0;
  for (auto& [layer, channels] : extra_layers(o.size())) {
    extras->push_back(layer.ptr());
    extras_.push_back(std::move(layer));
    if (k < indicator_ || k % 2 == 0) source_channels.push_back(channels);
    ++k;
  }
  loc = register_module("loc", torch::nn::ModuleList());
  conf = register_module("conf", torch::nn::ModuleList());
  for (size_t i = 0; i < source_channels.size(); ++i) {
    loc_.push_back(conv3x3(source_channels[i], boxes_per_cell[i] * 4));
    conf_.push_back(conv3x3(source_channels[i], boxes_per_cell[i] * o.num_classes()));
    loc->push_back(loc_.back());
    conf->push_back(conf_.back());
  }
  if (o.phase() == Phase::kTest) softmax = register_module("softmax", torch::nn::Softmax(-1));
}

std::pair<at::Tensor, at::Tensor> RFBNetImpl::forward(at::Tensor x) {
  if (x.dim() != 4 || x.size(1) != 3)
    throw Error("RFBNet: expected N x 3 x " + std::to_string(options_.size()) + " x " + std::to_string(options_.size()) +
                " images");
  std::vector<at::Tensor> sources;
  for (int64_t k = 0; k < kConv43End; ++k) x = layers::call_any(base_[k], x);
  sources.push_back(call(Norm, x));
  for (size_t k = kConv43End; k < base_.size(); ++k) x = layers::call_any(base_[k], x);
  for (size_t k = 0; k < extras_.size(); ++k) {
    x = layers::call_any(extras_[k], x);
    if (static_cast<int64_t>(k) < indicator_ || k % 2 == 0) sources.push_back(x);
  }
  std::vector<at::Tensor> locs, confs;
  const int64_t n = x.size(0);
  for (size_t i = 0; i < sources.size(); ++i) {
    locs.push_back(call(loc_[i], sources[i]).permute({0, 2, 3, 1}).reshape({n, -1}));
    confs.push_back(call(conf_[i], sources[i]).permute({0, 2, 3, 1}).reshape({n, -1}));
  }
  const at::Tensor boxes = at::cat(locs, 1).view({n, -1, 4});
  const at::Tensor scores = at::cat(confs, 1);
  if (options_.phase() == Phase::kTest) return {boxes, call(softmax, scores.view({-1, options_.num_classes()}))};
  return {boxes, scores.view({n, -1, options_.num_classes()})};
}

}  // namespace reskit::models::detection
