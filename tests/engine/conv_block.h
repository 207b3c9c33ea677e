#pragma once
// The small network the reduced-precision tests run (int8_test.cpp,
// bf16_test.cpp): a stem, a strided convolution and a 1x1 shortcut reading
// the stem's ReLU, their sum into the one that runs last, a ReLU after it.
#include <torch/torch.h>

#include "reskit/layers/conv.h"

namespace reskit::test {

struct ConvBlock : torch::nn::Module {
  ConvBlock(int64_t in, int64_t mid, int64_t out) {
    stem = register_module("stem", layers::Conv2d(torch::nn::Conv2dOptions(in, mid, 3).padding(1)));
    conv = register_module("conv", layers::Conv2d(torch::nn::Conv2dOptions(mid, out, 3).stride(2).padding(1)));
    shortcut = register_module("shortcut", layers::Conv2d(torch::nn::Conv2dOptions(mid, out, 1).stride(2).bias(false)));
  }
  at::Tensor forward(const at::Tensor& x) {
    const at::Tensor y = torch::relu(stem->forward(x));
    at::Tensor out = conv->forward(y);
    out += shortcut->forward(y);
    return torch::relu(out);
  }
  layers::Conv2d stem{nullptr}, conv{nullptr}, shortcut{nullptr};
};

}  // namespace reskit::test
