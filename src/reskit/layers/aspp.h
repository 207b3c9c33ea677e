#pragma once
// DeepLab v2's atrous spatial pyramid pooling (`_ASPP` in deeplabv2.py): the
// sum of parallel 3x3 convs with bias, one per dilation rate, children c0,
// c1, ...; weights drawn from N(0, 0.01), biases zero, as upstream.
#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

#include <vector>

#include "reskit/layers/conv.h"

namespace reskit::layers {

class ASPPImpl : public torch::nn::Module {
 public:
  ASPPImpl(int64_t in_ch, int64_t out_ch, const std::vector<int64_t>& rates);
  at::Tensor forward(at::Tensor x);

 private:
  std::vector<Conv2d> stages_;
};
TORCH_MODULE(ASPP);

}  // namespace reskit::layers
