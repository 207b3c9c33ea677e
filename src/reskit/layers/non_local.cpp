#include "reskit/layers/non_local.h"

#include <cmath>

#include "reskit/core/error.h"
#include "reskit/core/module_call.h"

namespace reskit::layers {
namespace {

ConvModule conv1x1(int64_t in, int64_t out, int dims, NormCfg norm = {NormType::kNone}, ActCfg act = {ActType::kNone},
                   std::optional<bool> bias = std::nullopt) {
  return ConvModule(ConvModuleOptions(in, out, {1}).conv(ConvCfg{dims}).norm(norm).act(act).bias(bias));
}

torch::nn::MaxPool3d sub_sample_pool() { return torch::nn::MaxPool3d(torch::nn::MaxPool3dOptions({1, 2, 2})); }

// A projection, followed by the spatial sub-sampling pool when asked.
torch::nn::AnyModule projection(ConvModule conv, bool sub_sample) {
  if (!sub_sample) return torch::nn::AnyModule(conv);
  return torch::nn::AnyModule(make_sequential(conv, sub_sample_pool()));
}

}  // namespace

// The weights are those of ConvModule (kaiming, norm 1/0): what mmaction2's
// ResNet3d.init_weights leaves, as it re-initialises every Conv3d and norm.
NonLocal3dImpl::NonLocal3dImpl(const NonLocal3dOptions& o)
    : torch::nn::Module("NonLocal3d"), options_(o), inter_channels_(std::max<int64_t>(o.in_channels() / o.reduction(), 1)) {
  if (o.in_channels() < 1 || o.reduction() < 1) throw Error("NonLocal3d: in_channels and reduction must be positive");
  const bool gaussian = o.mode() == NonLocalMode::kGaussian;
  g_call_ = projection(conv1x1(o.in_channels(), inter_channels_, 3), o.sub_sample());
  g = register_module("g", g_call_.ptr());
  conv_out = register_module("conv_out", conv1x1(inter_channels_, o.in_channels(), 3, o.norm()));
  if (!gaussian) {
    theta_call_ = torch::nn::AnyModule(conv1x1(o.in_channels(), inter_channels_, 3));
    theta = register_module("theta", theta_call_.ptr());
    phi_call_ = projection(conv1x1(o.in_channels(), inter_channels_, 3), o.sub_sample());
    phi = register_module("phi", phi_call_.ptr());
  } else if (o.sub_sample()) {
    phi_call_ = torch::nn::AnyModule(sub_sample_pool());
    phi = register_module("phi", phi_call_.ptr());
  }
  if (o.mode() == NonLocalMode::kConcatenation)
    concat_project = register_module(
        "concat_project", conv1x1(inter_channels_ * 2, 1, 2, {NormType::kNone}, {ActType::kReLU}, /*bias=*/false));
}

at::Tensor NonLocal3dImpl::pairwise(at::Tensor theta_x, at::Tensor phi_x) {
  switch (options_.mode()) {
    case NonLocalMode::kGaussian: return at::matmul(theta_x, phi_x).softmax(-1);
    case NonLocalMode::kEmbeddedGaussian: {
      at::Tensor w = at::matmul(theta_x, phi_x);
      if (options_.use_scale()) w = w / std::sqrt(static_cast<double>(theta_x.size(-1)));
      return w.softmax(-1);
    }
    case NonLocalMode::kDotProduct: {
      at::Tensor w = at::matmul(theta_x, phi_x);
      return w / static_cast<double>(w.size(-1));
    }
    case NonLocalMode::kConcatenation: {
      // every (i, j) pair's features side by side, projected to one weight
      const int64_t h = theta_x.size(2), w = phi_x.size(3);
      at::Tensor pairs = at::cat({theta_x.repeat({1, 1, 1, w}), phi_x.repeat({1, 1, h, 1})}, 1);
      at::Tensor weight = call(concat_project, pairs).squeeze(1);
      return weight / static_cast<double>(weight.size(-1));
    }
  }
  throw Error("NonLocal3d: unknown mode");
}

at::Tensor NonLocal3dImpl::forward(at::Tensor x) {
  const int64_t n = x.size(0), c = options_.in_channels(), inter = inter_channels_;
  at::Tensor g_x = call_any(g_call_, x).reshape({n, inter, -1}).permute({0, 2, 1});
  at::Tensor theta_x, phi_x;
  switch (options_.mode()) {
    case NonLocalMode::kGaussian:
      theta_x = x.reshape({n, c, -1}).permute({0, 2, 1});
      phi_x = (options_.sub_sample() ? call_any(phi_call_, x) : x).reshape({n, c, -1});
      break;
    case NonLocalMode::kConcatenation:
      theta_x = call_any(theta_call_, x).reshape({n, inter, -1, 1});
      phi_x = call_any(phi_call_, x).reshape({n, inter, 1, -1});
      break;
    default:
      theta_x = call_any(theta_call_, x).reshape({n, inter, -1}).permute({0, 2, 1});
      phi_x = call_any(phi_call_, x).reshape({n, inter, -1});
  }
  at::Tensor y = at::matmul(pairwise(theta_x, phi_x), g_x);
  std::vector<int64_t> shape = {n, inter};
  for (int64_t d = 2; d < x.dim(); ++d) shape.push_back(x.size(d));
  y = y.permute({0, 2, 1}).contiguous().reshape(shape);
  return x + call(conv_out, y);
}

}  // namespace reskit::layers
