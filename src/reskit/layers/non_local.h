#pragma once
// mmcv's NonLocal3d (Non-local Neural Networks, Wang et al. 2018): every
// position attends to every other, y = x + conv_out(softmax(theta(x) phi(x)^T) g(x)),
// with mmcv's four pairwise functions and its children's names (g, conv_out,
// theta, phi, concat_project), so mmaction2's I3D-NL checkpoints load unchanged.
#include <torch/nn/module.h>
#include <torch/nn/modules/pooling.h>
#include <torch/nn/pimpl.h>

#include <string>
#include <utility>
#include <vector>

#include "reskit/layers/conv_module.h"
#include "reskit/layers/sequential.h"

namespace reskit::layers {

enum class NonLocalMode { kEmbeddedGaussian, kGaussian, kDotProduct, kConcatenation };
inline const std::vector<std::pair<NonLocalMode, const char*>>& reskit_enum_names(NonLocalMode) {
  static const std::vector<std::pair<NonLocalMode, const char*>> names = {
      {NonLocalMode::kEmbeddedGaussian, "embedded_gaussian"},
      {NonLocalMode::kGaussian, "gaussian"},
      {NonLocalMode::kDotProduct, "dot_product"},
      {NonLocalMode::kConcatenation, "concatenation"}};
  return names;
}

struct NonLocal3dOptions {
  explicit NonLocal3dOptions(int64_t in_channels) : in_channels_(in_channels) {}
  TORCH_ARG(int64_t, in_channels);
  TORCH_ARG(int64_t, reduction) = 2;
  TORCH_ARG(bool, use_scale) = true;  // embedded_gaussian: divide by sqrt(inter_channels)
  TORCH_ARG(bool, sub_sample) = false;  // 1x2x2 max-pool on g and phi
  TORCH_ARG(NonLocalMode, mode) = NonLocalMode::kEmbeddedGaussian;
  TORCH_ARG(NormCfg, norm) = {NormType::kNone};  // conv_out's norm only
};

class NonLocal3dImpl : public torch::nn::Module {
 public:
  explicit NonLocal3dImpl(const NonLocal3dOptions& o);
  at::Tensor forward(at::Tensor x);  // N x C x T x H x W, same shape out

  // Plain ConvModules, or Sequential(ConvModule, MaxPool3d) with sub_sample
  // (gaussian's phi is then the pool alone and it has no theta).
  std::shared_ptr<torch::nn::Module> g, theta, phi;
  ConvModule conv_out{nullptr}, concat_project{nullptr};

 private:
  at::Tensor pairwise(at::Tensor theta_x, at::Tensor phi_x);

  NonLocal3dOptions options_;
  int64_t inter_channels_;
  torch::nn::AnyModule g_call_, theta_call_, phi_call_;
};
TORCH_MODULE(NonLocal3d);

}  // namespace reskit::layers
