#include "reskit/layers/checkpoint.h"

#include <ATen/core/ivalue.h>
#include <torch/csrc/autograd/custom_function.h>
#include <torch/csrc/autograd/autograd.h>

#include <utility>

namespace reskit::layers {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// The function to recompute, held where the autograd context keeps values.
struct Recompute : torch::CustomClassHolder {
  explicit Recompute(std::function<at::Tensor(const at::Tensor&)> f) : fn(std::move(f)) {}
  std::function<at::Tensor(const at::Tensor&)> fn;
};

struct CheckpointFunction : torch::autograd::Function<CheckpointFunction> {
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& x, c10::intrusive_ptr<Recompute> recompute) {
    ctx->save_for_backward({x});
    ctx->saved_data["fn"] = c10::IValue::make_capsule(recompute);
    at::NoGradGuard no_grad;
    return recompute->fn(x);
  }

  static variable_list backward(AutogradContext* ctx, variable_list grad_out) {
    const at::Tensor x = ctx->get_saved_variables()[0].detach().requires_grad_(true);
    auto recompute = c10::static_intrusive_pointer_cast<Recompute>(ctx->saved_data["fn"].toCapsule());
    at::Tensor out;
    {
      at::AutoGradMode grad_on(true);
      out = recompute->fn(x);
    }
    // Accumulates into the parameters' .grad as the recomputed graph reaches them.
    torch::autograd::backward({out}, {grad_out[0]});
    return {x.grad(), at::Tensor()};
  }
};

}  // namespace

at::Tensor checkpoint(std::function<at::Tensor(const at::Tensor&)> fn, const at::Tensor& x) {
  return CheckpointFunction::apply(x, c10::make_intrusive<Recompute>(std::move(fn)));
}

}  // namespace reskit::layers
