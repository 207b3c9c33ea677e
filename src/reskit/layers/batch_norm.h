#pragma once
// torch.nn's BatchNorm1d and BatchNorm2d that can become torch.nn.SyncBatchNorm.
//
// They are LibTorch's modules (options, parameter and buffer names, print)
// with another forward: in training mode, while a BatchStatsReducer is
// installed on the calling thread (SyncBatchNormScope), the batch statistics
// are those of every process's batch together, as SyncBatchNorm computes
// them: mean and biased variance over all processes' N*H*W values in
// forward (the running stats take the unbiased global variance), and in
// backward sum(dy) and sum(dy * (x - mean)) summed over the processes before
// the input gradient is formed. The weight and bias gradients stay local, as
// SyncBatchNorm leaves them for DDP to average. Without a reducer, in eval
// mode, or under tracing, the forward is LibTorch's own, exactly.
//
// The reducer is an interface so that layers/ knows nothing of processes:
// tasks/distributed implements it with c10d's all-reduce.
#include <torch/nn/modules/batchnorm.h>

#include <memory>

namespace reskit::layers {

class BatchStatsReducer {
 public:
  virtual ~BatchStatsReducer() = default;
  // Sums `tensor` (dense, contiguous) element-wise over all processes, in
  // place. Every process calls it the same number of times, in the same order
  // and with the same sizes: each sync-BN forward and backward makes one call.
  virtual void all_reduce_sum(const at::Tensor& tensor) = 0;
};

// While alive, training-mode layers::BatchNorm1d/2d forwards on this thread
// reduce their batch statistics through `reducer`; nullptr installs none (so
// a caller can write `SyncBatchNormScope scope(dp.batch_stats_reducer())`
// whether sync-BN is on or not). Backward needs no scope: the reducer is kept
// with the graph, whichever thread runs it.
class SyncBatchNormScope {
 public:
  explicit SyncBatchNormScope(std::shared_ptr<BatchStatsReducer> reducer);
  ~SyncBatchNormScope();
  SyncBatchNormScope(const SyncBatchNormScope&) = delete;
  SyncBatchNormScope& operator=(const SyncBatchNormScope&) = delete;

 private:
  std::shared_ptr<BatchStatsReducer> previous_;
};

// The reducer installed on this thread, or nullptr.
const std::shared_ptr<BatchStatsReducer>& active_batch_stats_reducer();

// SyncBatchNorm's training-mode computation on an N x C x ... input: global
// statistics through `reducer`, running stats (if defined) updated with
// `momentum` as the exponential-average factor, the output normalised by
// the global statistics and differentiable with SyncBatchNorm's backward.
// `weight`, `bias`, `running_mean` and `running_var` may be undefined.
at::Tensor sync_batch_norm(const at::Tensor& input, const at::Tensor& weight, const at::Tensor& bias,
                           const at::Tensor& running_mean, const at::Tensor& running_var, double momentum, double eps,
                           const std::shared_ptr<BatchStatsReducer>& reducer);

class BatchNorm1dImpl : public torch::nn::BatchNorm1dImpl {
 public:
  using torch::nn::BatchNorm1dImpl::BatchNorm1dImpl;
  at::Tensor forward(const at::Tensor& input);
};
TORCH_MODULE(BatchNorm1d);

class BatchNorm2dImpl : public torch::nn::BatchNorm2dImpl {
 public:
  using torch::nn::BatchNorm2dImpl::BatchNorm2dImpl;
  at::Tensor forward(const at::Tensor& input);
};
TORCH_MODULE(BatchNorm2d);

}  // namespace reskit::layers
