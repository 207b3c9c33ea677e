#include "reskit/layers/conv.h"

#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>
#include <torch/csrc/jit/frontend/tracer.h>

#include <variant>
#include <vector>

namespace reskit::layers {
namespace {

thread_local bool libtorch_convolutions = false;

template <size_t D>
std::vector<int64_t> values(const torch::ExpandingArray<D>& a) {
  return std::vector<int64_t>(a->begin(), a->end());
}

// The module's numeric padding with zeros, or nothing where LibTorch's own
// path must run: 'same'/'valid' padding, reflect/replicate/circular modes.
template <size_t D, typename Options>
const torch::ExpandingArray<D>* zero_padding(const Options& o) {
  using std::get_if;  // LibTorch 1.13's variants are c10::variant (found by ADL), 2.x's std::variant
  if (!get_if<torch::enumtype::kZeros>(&o.padding_mode())) return nullptr;
  return get_if<torch::ExpandingArray<D>>(&o.padding());
}

// Shared by the three modules: oneDNN where it applies, else the base forward.
template <size_t D, typename Base>
at::Tensor forward_on_onednn(Base& conv, const at::Tensor& input) {
  const auto& o = conv.options;
  const torch::ExpandingArray<D>* padding = zero_padding<D>(o);
  if (!padding || input.dim() != static_cast<int64_t>(D) + 2 ||
      !runs_on_onednn(input, conv.weight, conv.bias))
    return conv.Base::forward(input);
  const c10::optional<at::Tensor> bias = conv.bias.defined() ? c10::optional<at::Tensor>(conv.bias) : c10::nullopt;
  std::vector<int64_t> pad = values(*padding), stride = values(o.stride()), dilation = values(o.dilation());
  if (D == 1) {
    // oneDNN has no 1-D convolution here; LibTorch itself runs Conv1d as a 2-D conv of height 1.
    pad.insert(pad.begin(), 0);
    stride.insert(stride.begin(), 1);
    dilation.insert(dilation.begin(), 1);
    return at::mkldnn_convolution(input.unsqueeze(2), conv.weight.unsqueeze(2), bias, pad, stride, dilation, o.groups())
        .squeeze(2);
  }
  return at::mkldnn_convolution(input, conv.weight, bias, pad, stride, dilation, o.groups());
}

}  // namespace

LibTorchConvolutions::LibTorchConvolutions() : previous_(libtorch_convolutions) { libtorch_convolutions = true; }
LibTorchConvolutions::~LibTorchConvolutions() { libtorch_convolutions = previous_; }

bool runs_on_onednn(const at::Tensor& input, const at::Tensor& weight, const at::Tensor& bias) {
  if (libtorch_convolutions || !at::hasMKLDNN() || !input.device().is_cpu() || input.layout() != at::kStrided || input.numel() == 0) return false;
  if (input.scalar_type() != at::kFloat || weight.scalar_type() != at::kFloat) return false;
  const bool needs_grad = input.requires_grad() || weight.requires_grad() || (bias.defined() && bias.requires_grad());
  if (at::GradMode::is_enabled() && needs_grad) return false;  // training keeps LibTorch's autograd path
  // A trace records LibTorch's convolution, which TorchScript's passes can fold and fuse.
  return !torch::jit::tracer::isTracing();
}

at::Tensor Conv1dImpl::forward(const at::Tensor& input) { return forward_on_onednn<1, torch::nn::Conv1dImpl>(*this, input); }
at::Tensor Conv2dImpl::forward(const at::Tensor& input) { return forward_on_onednn<2, torch::nn::Conv2dImpl>(*this, input); }
at::Tensor Conv3dImpl::forward(const at::Tensor& input) { return forward_on_onednn<3, torch::nn::Conv3dImpl>(*this, input); }

}  // namespace reskit::layers
