#include "reskit/layers/batch_norm.h"

#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>
#include <ATen/core/ivalue.h>
#include <torch/csrc/autograd/custom_function.h>
#include <torch/csrc/jit/frontend/tracer.h>

#include <string>
#include <utility>
#include <vector>

#include "reskit/core/error.h"

namespace reskit::layers {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

thread_local std::shared_ptr<BatchStatsReducer> active_reducer;

// The dimensions statistics run over: all but the channel dimension 1.
std::vector<int64_t> reduced_dims(int64_t dim) {
  std::vector<int64_t> dims = {0};
  for (int64_t d = 2; d < dim; ++d) dims.push_back(d);
  return dims;
}

// A per-channel vector shaped to broadcast against an N x C x ... tensor.
at::Tensor per_channel(const at::Tensor& v, int64_t dim) {
  std::vector<int64_t> shape(static_cast<size_t>(dim), 1);
  shape[1] = v.numel();
  return v.view(shape);
}

// The reducer travels with the autograd graph as an IValue, which holds
// foreign objects only as a capsule.
struct ReducerCapsule : torch::CustomClassHolder {
  explicit ReducerCapsule(std::shared_ptr<BatchStatsReducer> r) : reducer(std::move(r)) {}
  std::shared_ptr<BatchStatsReducer> reducer;
};

// torch.nn.modules._functions.SyncBatchNorm: normalisation by statistics
// that are constants here (computed before), and a backward that accounts
// for their dependence on every process's input by summing the two
// reductions it needs over the processes.
struct SyncBatchNormFunction : torch::autograd::Function<SyncBatchNormFunction> {
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& input, const at::Tensor& weight,
                            const at::Tensor& bias, const at::Tensor& mean, const at::Tensor& invstd, double count,
                            const std::shared_ptr<BatchStatsReducer>& reducer) {
    ctx->save_for_backward({input, weight, mean, invstd});
    ctx->saved_data["count"] = count;
    ctx->saved_data["reducer"] = c10::IValue::make_capsule(c10::make_intrusive<ReducerCapsule>(reducer));
    const int64_t dim = input.dim();
    return (input - per_channel(mean, dim)) * per_channel(invstd * weight, dim) + per_channel(bias, dim);
  }

  static variable_list backward(AutogradContext* ctx, variable_list grad_outputs) {
    const variable_list saved = ctx->get_saved_variables();
    const at::Tensor &input = saved[0], &weight = saved[1], &mean = saved[2], &invstd = saved[3];
    const double count = ctx->saved_data["count"].toDouble();
    const at::Tensor& dy = grad_outputs[0];
    const int64_t dim = input.dim(), channels = input.size(1);
    const std::vector<int64_t> dims = reduced_dims(dim);

    const at::Tensor xmu = input - per_channel(mean, dim);
    const at::Tensor sum_dy = dy.sum(dims);
    const at::Tensor sum_dy_xmu = (dy * xmu).sum(dims);
    at::Tensor grad_input, grad_weight, grad_bias;
    // The parameters' gradients are this process's: DDP averages them afterwards.
    if (ctx->needs_input_grad(1)) grad_weight = sum_dy_xmu * invstd;
    if (ctx->needs_input_grad(2)) grad_bias = sum_dy.clone();
    if (ctx->needs_input_grad(0)) {
      // One all-reduce of both sums, as SyncBatchNorm's backward does.
      at::Tensor combined = at::cat({sum_dy, sum_dy_xmu}).to(at::kCPU).contiguous();
      auto holder = c10::static_intrusive_pointer_cast<ReducerCapsule>(ctx->saved_data["reducer"].toCapsule());
      holder->reducer->all_reduce_sum(combined);
      combined = combined.to(input.device());
      const at::Tensor mean_dy = combined.slice(0, 0, channels) / count;
      const at::Tensor mean_dy_xmu = combined.slice(0, channels, 2 * channels) / count;
      grad_input = (dy - per_channel(mean_dy, dim) - xmu * per_channel(invstd * invstd * mean_dy_xmu, dim)) *
                   per_channel(invstd * weight, dim);
    }
    return {grad_input, grad_weight, grad_bias, at::Tensor(), at::Tensor(), at::Tensor(), at::Tensor()};
  }
};

// The exponential-average factor of LibTorch's BatchNormImplBase::forward
// (which counts the batch first): momentum, or with momentum None the
// cumulative average 1 / num_batches_tracked.
template <typename Impl>
double count_batch(Impl& bn) {
  const auto& o = bn.options;
  double factor = o.momentum() ? *o.momentum() : 0.0;
  if (o.track_running_stats() && bn.num_batches_tracked.defined()) {
    at::NoGradGuard no_grad;
    bn.num_batches_tracked += 1;
    if (!o.momentum()) factor = 1.0 / bn.num_batches_tracked.template item<double>();
  }
  return factor;
}

template <typename Impl>
bool synced(const Impl& bn) {
  return active_reducer && bn.is_training() && !torch::jit::tracer::isTracing();
}

template <typename Impl>
at::Tensor forward_synced(Impl& bn, const at::Tensor& input) {
  const double factor = count_batch(bn);
  const bool update = bn.options.track_running_stats();
  return sync_batch_norm(input, bn.weight, bn.bias, update ? bn.running_mean : at::Tensor(),
                         update ? bn.running_var : at::Tensor(), factor, bn.options.eps(), active_reducer);
}

}  // namespace

// torch::nn::BatchNormImplBase::pretty_print's text.
template <typename Impl>
void print_batch_norm(std::ostream& stream, const Impl& bn, int dims) {
  const auto& o = bn.options;
  stream << std::boolalpha << "torch::nn::BatchNorm" << dims << "d(" << o.num_features() << ", eps=" << o.eps()
         << ", momentum=";
  if (o.momentum())
    stream << *o.momentum();
  else
    stream << "None";
  stream << ", affine=" << o.affine() << ", track_running_stats=" << o.track_running_stats() << ")";
}

SyncBatchNormScope::SyncBatchNormScope(std::shared_ptr<BatchStatsReducer> reducer)
    : previous_(std::exchange(active_reducer, std::move(reducer))) {}
SyncBatchNormScope::~SyncBatchNormScope() { active_reducer = std::move(previous_); }

const std::shared_ptr<BatchStatsReducer>& active_batch_stats_reducer() { return active_reducer; }

at::Tensor sync_batch_norm(const at::Tensor& input, const at::Tensor& weight, const at::Tensor& bias,
                           const at::Tensor& running_mean, const at::Tensor& running_var, double momentum, double eps,
                           const std::shared_ptr<BatchStatsReducer>& reducer) {
  if (input.dim() < 2 || input.size(1) < 1)
    throw Error("SyncBatchNorm: expected an N x C x ... input with C > 0, got " + std::to_string(input.dim()) + "-d");
  const int64_t channels = input.size(1);
  const int64_t local = input.numel() / channels;
  at::Tensor mean, invstd;
  double count = 0;
  {
    at::NoGradGuard no_grad;
    // count, sum(x) and sum(x^2) per channel, in double so that the global
    // variance E[x^2] - E[x]^2 keeps float's precision; the local moments
    // come from LibTorch's own (Welford) reduction.
    at::Tensor stats = at::zeros({1 + 2 * channels}, at::TensorOptions().dtype(at::kDouble));
    if (local > 0) {
      auto [var, m] = at::var_mean(input, reduced_dims(input.dim()), /*unbiased=*/false);
      const at::Tensor md = m.to(at::kCPU, at::kDouble), vd = var.to(at::kCPU, at::kDouble);
      stats[0] = static_cast<double>(local);
      stats.slice(0, 1, 1 + channels).copy_(md * static_cast<double>(local));
      stats.slice(0, 1 + channels).copy_((vd + md * md) * static_cast<double>(local));
    }
    reducer->all_reduce_sum(stats);
    count = stats[0].item<double>();
    if (count <= 1)
      throw Error("SyncBatchNorm: expected more than 1 value per channel when training, got " +
                  std::to_string(static_cast<int64_t>(count)) + " over all processes");
    const at::Tensor global_mean = stats.slice(0, 1, 1 + channels) / count;
    const at::Tensor global_var = (stats.slice(0, 1 + channels) / count - global_mean * global_mean).clamp_min(0);
    if (running_mean.defined())
      running_mean.mul_(1 - momentum).add_(global_mean.to(running_mean.options()), momentum);
    if (running_var.defined())
      running_var.mul_(1 - momentum).add_((global_var * (count / (count - 1))).to(running_var.options()), momentum);
    mean = global_mean.to(input.options());
    invstd = (global_var + eps).rsqrt().to(input.options());
  }
  // autograd's custom functions take defined tensors only: affine=False is a
  // weight of ones and a bias of zeros that need no gradient.
  const at::Tensor w = weight.defined() ? weight : at::ones({channels}, input.options());
  const at::Tensor b = bias.defined() ? bias : at::zeros({channels}, input.options());
  return SyncBatchNormFunction::apply(input, w, b, mean, invstd, count, reducer);
}

at::Tensor BatchNorm1dImpl::forward(const at::Tensor& input) {
  if (!synced(*this)) return torch::nn::BatchNorm1dImpl::forward(input);
  _check_input_dim(input);
  return forward_synced(*this, input);
}

at::Tensor BatchNorm2dImpl::forward(const at::Tensor& input) {
  if (!synced(*this)) return torch::nn::BatchNorm2dImpl::forward(input);
  _check_input_dim(input);
  return forward_synced(*this, input);
}

}  // namespace reskit::layers

// A subclass of LibTorch's BatchNorm*dImpl needs the base template's
// pretty_print (its construction vtables name it, Module being a virtual
// base), which libtorch instantiates without exporting it. These are its
// definitions, with LibTorch's text (the batch-norm test compares the two).
template <>
void torch::nn::BatchNormImplBase<1, torch::nn::BatchNorm1dImpl>::pretty_print(std::ostream& stream) const {
  reskit::layers::print_batch_norm(stream, *this, 1);
}
template <>
void torch::nn::BatchNormImplBase<2, torch::nn::BatchNorm2dImpl>::pretty_print(std::ostream& stream) const {
  reskit::layers::print_batch_norm(stream, *this, 2);
}
