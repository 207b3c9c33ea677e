#pragma once
// Activation checkpointing, as torch.utils.checkpoint.checkpoint (the
// reentrant form mmaction2's with_cp uses): the forward runs without keeping
// its intermediate activations, and the backward runs it again with autograd
// on to get the gradients of the input and of every parameter it used.
// As in PyTorch, a training-mode BatchNorm in the function updates its
// running statistics a second time when recomputed, and only the input's
// gradient flows through the result: call it only when `x.requires_grad()`,
// or parameters get no gradient.
#include <ATen/core/Tensor.h>

#include <functional>

namespace reskit::layers {

at::Tensor checkpoint(std::function<at::Tensor(const at::Tensor&)> fn, const at::Tensor& x);

}  // namespace reskit::layers
