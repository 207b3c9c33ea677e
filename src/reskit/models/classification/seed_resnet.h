#pragma once
// The ResNet reproduction of seeds/001 ("pytorch ResNet架构复现"), rebuilt
// as written: conv3x3/conv1x1 return Sequential(Conv2d, BatchNorm2d);
// ResidualUnit and Bottleneck keep their `fit_`/`skipconv`/`relu` children
// and their rules for in_; make_layers and ResNet keep `layer1`,
// `layer2_x`..`layer5_x`, `avgpool`, `fc`. Module and key names are the
// seed's, so its state dicts load unchanged.
//
// Quirks kept from the seed, on purpose:
// * ResidualUnit ignores its in_ argument (it is always out_/2 when
//   stride1 != 1, else out_), and builds `skipconv` in every unit but applies
//   it only when stride1 == 2 (so it is in the state dict, yet unused).
// * Bottleneck always applies `skipconv`, even when in_ == out_.
// * The stem's MaxPool2d has no padding and ceil_mode=True.
// One deliberate deviation: the seed's ResNet.forward has no `return`;
// ours returns the logits.
#include <torch/nn/module.h>
#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/pooling.h>
#include <torch/nn/pimpl.h>

#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

#include "reskit/layers/sequential.h"

namespace reskit::models::classification::seed001 {

enum class SeedBlock { kResidualUnit, kBottleneck };
inline const std::vector<std::pair<SeedBlock, const char*>>& reskit_enum_names(SeedBlock) {
  static const std::vector<std::pair<SeedBlock, const char*>> names = {{SeedBlock::kResidualUnit, "residual_unit"},
                                                                       {SeedBlock::kBottleneck, "bottleneck"}};
  return names;
}

// Sequential(Conv2d(k=3, padding=1, bias=False), BatchNorm2d); initialzero
// sets the BN weight (gamma) to 0, as the seed does for a branch's last BN.
layers::Sequential conv3x3(int64_t in_, int64_t out_, int64_t stride = 1, bool initialzero = false);
// The same with k=1, padding=0.
layers::Sequential conv1x1(int64_t in_, int64_t out_, int64_t stride = 1, bool initialzero = false);

class ResidualUnitImpl : public torch::nn::Module {
 public:
  // in_ is accepted and ignored, exactly as in the seed.
  explicit ResidualUnitImpl(int64_t out_, int64_t stride1 = 1, std::optional<int64_t> in_ = std::nullopt);
  at::Tensor forward(at::Tensor x);

  layers::Sequential fit_{nullptr};
  layers::Sequential skipconv{nullptr};
  torch::nn::ReLU relu{nullptr};

 private:
  int64_t stride1_;
};
TORCH_MODULE(ResidualUnit);

class BottleneckImpl : public torch::nn::Module {
 public:
  // Without in_: middle_out*2 when stride1 != 1 (the first block of
  // conv3_x..conv5_x), else middle_out*4.
  explicit BottleneckImpl(int64_t middle_out, int64_t stride1 = 1, std::optional<int64_t> in_ = std::nullopt);
  at::Tensor forward(at::Tensor x);

  layers::Sequential fit_{nullptr};
  layers::Sequential skipconv{nullptr};
  torch::nn::ReLU relu{nullptr};
};
TORCH_MODULE(Bottleneck);

// make_layers(block, middle_out, num_blocks, afterconv1): the first block is
// block(middle_out, in_=64) after conv1, else block(middle_out, stride1=2).
layers::Sequential make_layers(SeedBlock block, int64_t middle_out, int64_t num_blocks, bool afterconv1 = false);

class ResNetImpl : public torch::nn::Module {
 public:
  ResNetImpl(SeedBlock block, const std::vector<int64_t>& layers, int64_t num_classes);
  at::Tensor forward(at::Tensor x);

  layers::Sequential layer1{nullptr};
  layers::Sequential layer2_x{nullptr}, layer3_x{nullptr}, layer4_x{nullptr}, layer5_x{nullptr};
  torch::nn::AdaptiveAvgPool2d avgpool{nullptr};
  torch::nn::Linear fc{nullptr};
};
TORCH_MODULE(ResNet);

}  // namespace reskit::models::classification::seed001
