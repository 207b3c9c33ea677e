#pragma once
// SiamBAN's ModelBuilder for the siamban_r50_l234 config: the atrous
// ResNet-50 (layers 2, 3, 4), AdjustAllLayer, and MultiBAN's depthwise
// cross-correlation heads, with the official parameter names.
//
// The official ModelBuilder keeps the template's features in the module
// (`template(z)` then `track(x)`); here `template_kernels(z)` returns them,
// already through each head's conv_kernel, and `track(x, kernels)` takes
// them, so the template's work is done once per target and the module
// holds no state.
#include <torch/nn/module.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/pimpl.h>

#include <utility>
#include <vector>

#include "reskit/core/option_fields.h"
#include "reskit/layers/conv.h"
#include "reskit/layers/sequential.h"
#include "reskit/models/tracking/resnet_atrous.h"

namespace reskit::models::tracking {

// A 1x1 conv + BN to the head's width; a feature narrower than 20 (the
// template's 15 x 15) is cut to its 7 x 7 window [4, 11), as upstream does
// (seeds/003 prints the rule as < 16: the same for both branches' sizes).
class AdjustLayerImpl : public torch::nn::Module {
 public:
  AdjustLayerImpl(int64_t in_channels, int64_t out_channels);
  at::Tensor forward(at::Tensor x);

  layers::Sequential downsample{nullptr};
};
TORCH_MODULE(AdjustLayer);

class AdjustAllLayerImpl : public torch::nn::Module {
 public:
  AdjustAllLayerImpl(const std::vector<int64_t>& in_channels, const std::vector<int64_t>& out_channels);
  std::vector<at::Tensor> forward(const std::vector<at::Tensor>& features);

  std::vector<AdjustLayer> levels;  // registered as downsample2, downsample3, ... (downsample alone)
};
TORCH_MODULE(AdjustAllLayer);

// conv_kernel on the template, conv_search on the search region, their
// depthwise cross-correlation, then a 1x1 head.
class DepthwiseXCorrImpl : public torch::nn::Module {
 public:
  DepthwiseXCorrImpl(int64_t in_channels, int64_t hidden, int64_t out_channels, int64_t kernel_size = 3);
  at::Tensor forward(at::Tensor kernel, at::Tensor search);
  // The two halves of forward: the template's part, once per target...
  at::Tensor kernel(const at::Tensor& z);
  // ...and the search region's, every frame.
  at::Tensor search(const at::Tensor& kernel, const at::Tensor& x);

  layers::Sequential conv_kernel{nullptr}, conv_search{nullptr}, head{nullptr};
};
TORCH_MODULE(DepthwiseXCorr);

// Each channel of x correlated with the same channel of kernel, sample by sample.
at::Tensor xcorr_depthwise(const at::Tensor& x, const at::Tensor& kernel);

class DepthwiseBANImpl : public torch::nn::Module {
 public:
  DepthwiseBANImpl(int64_t in_channels, int64_t out_channels, int64_t cls_out_channels);
  std::pair<at::Tensor, at::Tensor> forward(at::Tensor z, at::Tensor x);

  DepthwiseXCorr cls{nullptr}, loc{nullptr};
};
TORCH_MODULE(DepthwiseBAN);

// What depends only on the template: each level's cls and loc kernels.
struct TemplateKernels {
  std::vector<at::Tensor> cls, loc;
};

class MultiBANImpl : public torch::nn::Module {
 public:
  MultiBANImpl(const std::vector<int64_t>& in_channels, int64_t cls_out_channels, bool weighted);
  std::pair<at::Tensor, at::Tensor> forward(const std::vector<at::Tensor>& z, const std::vector<at::Tensor>& x);
  TemplateKernels kernels(const std::vector<at::Tensor>& z);
  // Per level: cls, exp(loc * loc_scale); fused by softmax(weights) or the mean.
  std::pair<at::Tensor, at::Tensor> search(const TemplateKernels& kernels, const std::vector<at::Tensor>& x);

  std::vector<DepthwiseBAN> boxes;  // registered as box2, box3, ...
  at::Tensor cls_weight, loc_weight, loc_scale;

 private:
  std::pair<at::Tensor, at::Tensor> fuse(const std::vector<at::Tensor>& cls, const std::vector<at::Tensor>& loc);
  bool weighted_;
};
TORCH_MODULE(MultiBAN);

// experiments/siamban_r50_l234/config.yaml's model.
struct SiamBANOptions {
#define RESKIT_FIELDS(X)                                                                              \
  X(int64_t, cls_out_channels, 2, "BAN.KWARGS.cls_out_channels: classification channels (2: softmax)") \
  X(bool, weighted, true, "BAN.KWARGS.weighted: fuse the levels by softmax weights (false: their mean)")
  RESKIT_OPTIONS(RESKIT_FIELDS)
#undef RESKIT_FIELDS
};

class SiamBANImpl : public torch::nn::Module {
 public:
  explicit SiamBANImpl(const SiamBANOptions& o);
  // The template's features through the neck (upstream's self.zf).
  std::vector<at::Tensor> template_features(const at::Tensor& z);
  TemplateKernels template_kernels(const at::Tensor& z);
  // cls N x cls_out_channels x 25 x 25 and loc N x 4 x 25 x 25 for 255 x 255 search regions.
  std::pair<at::Tensor, at::Tensor> track(const at::Tensor& x, const TemplateKernels& kernels);
  // template then track, for `reskit run` and the summary.
  std::pair<at::Tensor, at::Tensor> forward(at::Tensor z, at::Tensor x);

  AtrousResNet backbone{nullptr};
  AdjustAllLayer neck{nullptr};
  MultiBAN head{nullptr};
};
TORCH_MODULE(SiamBAN);

}  // namespace reskit::models::tracking
