#include "reskit/layers/encoding.h"

#include <torch/autograd.h>

#include <algorithm>
#include <cmath>
#include <string>

#include "reskit/core/error.h"

namespace reskit::layers {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// Descriptors per chunk of the distance computation: bounds the transient
// chunk x K x C difference tensor (~64 MB at K = 32, C = 512).
constexpr int64_t kChunk = 1024;

// |x_i - c_k|^2 for x N x L x C, c K x C: N x L x K.
at::Tensor squared_distances(const at::Tensor& x, const at::Tensor& c) {
  const int64_t length = x.size(1);
  if (length <= kChunk) return (x.unsqueeze(2) - c).pow(2).sum(3);
  std::vector<at::Tensor> parts;
  for (int64_t start = 0; start < length; start += kChunk) {
    const at::Tensor part = x.narrow(1, start, std::min(kChunk, length - start));
    parts.push_back((part.unsqueeze(2) - c).pow(2).sum(3));
  }
  return at::cat(parts, 1);
}

class EncodingFunction : public torch::autograd::Function<EncodingFunction> {
 public:
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& x, const at::Tensor& codewords,
                            const at::Tensor& scale) {
    const at::Tensor distances = squared_distances(x, codewords);                 // N x L x K
    const at::Tensor assignment = at::softmax(distances * scale, 2);              // N x L x K
    // sum_i a_ik (x_i - c_k) = (A^T X)_k - (sum_i a_ik) c_k
    const at::Tensor encoded =
        at::bmm(assignment.transpose(1, 2), x) - assignment.sum(1).unsqueeze(2) * codewords;
    ctx->save_for_backward({x, codewords, scale, distances, assignment});
    return encoded;
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const at::Tensor &x = saved[0], &c = saved[1], &s = saved[2], &d = saved[3], &a = saved[4];
    const at::Tensor g = grads[0].contiguous();  // N x K x C
    const at::Tensor a_sum = a.sum(1);          // N x K

    // Through e_k directly.
    at::Tensor grad_x = at::bmm(a, g);                              // N x L x C
    at::Tensor grad_c = -(a_sum.unsqueeze(2) * g).sum(0);           // K x C
    // Through the assignment: de/da_ik = g_k . (x_i - c_k).
    const at::Tensor grad_a = at::bmm(x, g.transpose(1, 2)) - (g * c).sum(2).unsqueeze(1);  // N x L x K
    const at::Tensor grad_logits = a * (grad_a - (a * grad_a).sum(2, true));
    const at::Tensor grad_s = (grad_logits * d).sum(at::IntArrayRef{0, 1});        // K
    const at::Tensor grad_d = grad_logits * s;                      // N x L x K
    // d|x_i - c_k|^2 = 2 (x_i - c_k) . (dx_i - dc_k)
    grad_x = grad_x + 2 * (x * grad_d.sum(2, true) - at::matmul(grad_d, c));
    grad_c = grad_c - 2 * (at::bmm(grad_d.transpose(1, 2), x).sum(0) - grad_d.sum(at::IntArrayRef{0, 1}).unsqueeze(1) * c);
    return {grad_x, grad_c, grad_s};
  }
};

}  // namespace

at::Tensor encoding(const at::Tensor& x, const at::Tensor& codewords, const at::Tensor& scale) {
  if (x.dim() != 3 || codewords.dim() != 2 || scale.dim() != 1 || x.size(2) != codewords.size(1) ||
      scale.size(0) != codewords.size(0))
    throw Error("Encoding: expected x N x L x C, codewords K x C and scale K, got " + std::to_string(x.dim()) +
                "-d x with " + std::to_string(x.dim() == 3 ? x.size(2) : -1) + " channels for codewords of " +
                std::to_string(codewords.dim() == 2 ? codewords.size(1) : -1));
  return EncodingFunction::apply(x.contiguous(), codewords, scale);
}

EncodingImpl::EncodingImpl(int64_t channels, int64_t num_codes)
    : torch::nn::Module("Encoding"), channels_(channels), num_codes_(num_codes) {
  if (channels < 1 || num_codes < 1)
    throw Error("Encoding: channels and num_codes must be positive, got " + std::to_string(channels) + " and " +
                std::to_string(num_codes));
  // The reference's initialisation: codewords U(-std, std), std = 1/sqrt(K*C); scale U(-1, 0).
  const double std = 1.0 / std::sqrt(static_cast<double>(num_codes * channels));
  codewords = register_parameter("codewords", torch::empty({num_codes, channels}).uniform_(-std, std));
  scale = register_parameter("scale", torch::empty({num_codes}).uniform_(-1, 0));
}

at::Tensor EncodingImpl::forward(const at::Tensor& x) {
  if (x.dim() != 4 || x.size(1) != channels_)
    throw Error("Encoding: expected N x " + std::to_string(channels_) + " x H x W, got a " + std::to_string(x.dim()) +
                "-d input" + (x.dim() >= 2 ? " with " + std::to_string(x.size(1)) + " channels" : ""));
  // N x C x H x W -> N x L x C
  const at::Tensor descriptors = x.flatten(2).transpose(1, 2);
  return encoding(descriptors, codewords, scale);
}

std::string EncodingImpl::python_extra_repr() const {
  return "Nx" + std::to_string(channels_) + "xHxW =>Nx" + std::to_string(num_codes_) + "x" + std::to_string(channels_);
}

}  // namespace reskit::layers
