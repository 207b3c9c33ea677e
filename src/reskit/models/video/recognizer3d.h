#pragma once
// mmaction2's Recognizer3D with an I3DHead over a ResNet3d backbone
// (configs/_base_/models/i3d_r50.py), with its parameter names.
#include <torch/nn/module.h>
#include <torch/nn/modules/dropout.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/pooling.h>
#include <torch/nn/pimpl.h>

#include "reskit/layers/inert.h"
#include "reskit/models/video/resnet3d.h"

namespace reskit::models::video {

struct I3DHeadOptions {
  I3DHeadOptions(int64_t num_classes, int64_t in_channels) : num_classes_(num_classes), in_channels_(in_channels) {}
  TORCH_ARG(int64_t, num_classes);
  TORCH_ARG(int64_t, in_channels);
  TORCH_ARG(double, dropout_ratio) = 0.5;
  TORCH_ARG(double, init_std) = 0.01;
};

// spatial_type='avg': global average pool, dropout, linear classifier.
class I3DHeadImpl : public torch::nn::Module {
 public:
  explicit I3DHeadImpl(const I3DHeadOptions& o);
  at::Tensor forward(at::Tensor features);  // N x C x T x H x W -> N x num_classes

  layers::Inert loss_cls{nullptr};
  torch::nn::Dropout dropout{nullptr};  // absent when dropout_ratio is 0
  torch::nn::Linear fc_cls{nullptr};
  torch::nn::AdaptiveAvgPool3d avg_pool{nullptr};
};
TORCH_MODULE(I3DHead);

class Recognizer3DImpl : public torch::nn::Module {
 public:
  // head.in_channels() must be backbone->feat_dim().
  Recognizer3DImpl(ResNet3d backbone, const I3DHeadOptions& head);
  // Class scores (logits) of each clip: N x C x T x H x W, or mmaction2's
  // N x clips x C x T x H x W, whose clips are scored one by one (N*clips rows).
  at::Tensor forward(at::Tensor clips);

  layers::Inert data_preprocessor{nullptr};
  ResNet3d backbone{nullptr};
  I3DHead cls_head{nullptr};
};
TORCH_MODULE(Recognizer3D);

}  // namespace reskit::models::video
