#include "reskit/layers/aspp.h"

#include <torch/nn/init.h>

#include <string>

#include "reskit/core/error.h"
#include "reskit/core/module_call.h"

namespace reskit::layers {

ASPPImpl::ASPPImpl(int64_t in_ch, int64_t out_ch, const std::vector<int64_t>& rates) : torch::nn::Module("_ASPP") {
  if (in_ch < 1 || out_ch < 1) throw Error("_ASPP: in_ch and out_ch must be positive");
  if (rates.empty()) throw Error("_ASPP: rates needs at least one dilation rate");
  torch::NoGradGuard no_grad;
  for (size_t i = 0; i < rates.size(); ++i) {
    if (rates[i] < 1) throw Error("_ASPP: rates must be positive, got " + std::to_string(rates[i]));
    Conv2d conv(torch::nn::Conv2dOptions(in_ch, out_ch, 3).padding(rates[i]).dilation(rates[i]).bias(true));
    torch::nn::init::normal_(conv->weight, 0, 0.01);
    torch::nn::init::constant_(conv->bias, 0);
    stages_.push_back(register_module("c" + std::to_string(i), conv));
  }
}

at::Tensor ASPPImpl::forward(at::Tensor x) {
  at::Tensor sum = call(stages_[0], x);
  for (size_t i = 1; i < stages_.size(); ++i) sum = sum + call(stages_[i], x);
  return sum;
}

}  // namespace reskit::layers
