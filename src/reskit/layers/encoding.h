#pragma once
// The Encoding layer of Context Encoding (EncNet; seeds/004, mmseg's
// `Encoding`): K codewords c_k and smoothing factors s_k over C channels.
// For the N x C x H x W input seen as L = H*W descriptors x_i,
//   a_ik = softmax_k(s_k * |x_i - c_k|^2),   e_k = sum_i a_ik (x_i - c_k),
// giving N x K x C. One autograd op with its own backward: the distances are
// taken as differences (the reference's arithmetic, no |x|^2 - 2xc + |c|^2
// cancellation), a chunk of descriptors at a time, and nothing of size
// L x K x C is kept for the backward pass.
#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

#include "reskit/core/python_hooks.h"

namespace reskit::layers {

// The op itself: x N x L x C, codewords K x C, scale K -> N x K x C.
at::Tensor encoding(const at::Tensor& x, const at::Tensor& codewords, const at::Tensor& scale);

class EncodingImpl : public torch::nn::Module, public PythonHooks {
 public:
  EncodingImpl(int64_t channels, int64_t num_codes);
  // N x C x H x W -> N x K x C.
  at::Tensor forward(const at::Tensor& x);
  std::string python_extra_repr() const override;  // the reference's own __repr__

  at::Tensor codewords, scale;

 private:
  int64_t channels_, num_codes_;
};
TORCH_MODULE(Encoding);

}  // namespace reskit::layers
