// reskit's BatchNorm1d/2d: without a reducer they are LibTorch's modules
// exactly; with one they are torch.nn.SyncBatchNorm, whose defining property
// is checked here with ranks simulated by threads: shards normalised together
// give BatchNorm over the whole batch (LibTorch's own) — outputs, input
// gradients, the sum of the ranks' weight and bias gradients, running stats.
#include <gtest/gtest.h>

#include <condition_variable>
#include <mutex>
#include <sstream>
#include <thread>

#include "reskit/core/error.h"
#include "reskit/layers/batch_norm.h"
#include "reskit/tasks/module_repr.h"
#include "test_util.h"

namespace reskit {
namespace {

// `size` threads sum a tensor: the last to arrive adds the contributions in
// rank order, and every thread takes the sum.
class ThreadGroup {
 public:
  explicit ThreadGroup(int size) : size_(size), slots_(static_cast<size_t>(size)) {}

  void all_reduce_sum(int rank, const at::Tensor& t) {
    std::unique_lock<std::mutex> lock(mutex_);
    slots_[static_cast<size_t>(rank)] = t.clone();
    ++calls_;
    const int64_t generation = generation_;
    if (++arrived_ == size_) {
      at::Tensor sum = slots_[0].clone();
      for (int r = 1; r < size_; ++r) sum += slots_[static_cast<size_t>(r)];
      result_ = sum;
      arrived_ = 0;
      ++generation_;
      done_.notify_all();
    } else {
      done_.wait(lock, [&] { return generation_ != generation; });
    }
    t.copy_(result_);
  }
  int64_t calls() const { return calls_; }

 private:
  int size_;
  std::vector<at::Tensor> slots_;
  at::Tensor result_;
  int arrived_ = 0;
  int64_t generation_ = 0, calls_ = 0;
  std::mutex mutex_;
  std::condition_variable done_;
};

class RankReducer : public layers::BatchStatsReducer {
 public:
  RankReducer(ThreadGroup& group, int rank) : group_(group), rank_(rank) {}
  void all_reduce_sum(const at::Tensor& t) override { group_.all_reduce_sum(rank_, t); }

 private:
  ThreadGroup& group_;
  int rank_;
};

struct SyncCase {
  std::string id;
  int dims;                     // 1: BatchNorm1d, 2: BatchNorm2d
  std::vector<int64_t> sample;  // one sample's shape (C, or C x L, or C x H x W)
  std::vector<int64_t> shards;  // samples per rank
  bool affine = true;
  c10::optional<double> momentum = 0.1;
  std::string name() const { return id; }
};

template <typename Module>
void copy_affine(Module& to, const at::Tensor& weight, const at::Tensor& bias) {
  at::NoGradGuard no_grad;
  if (weight.defined()) to->weight.copy_(weight);
  if (bias.defined()) to->bias.copy_(bias);
}

struct Result {
  at::Tensor out, grad_input, grad_weight, grad_bias, running_mean, running_var, num_batches_tracked;
};

// LibTorch's BatchNorm over the whole batch, or reskit's with one thread per shard.
template <typename LibTorchBn, typename ReskitBn>
Result run_case(const SyncCase& c, const at::Tensor& x, const at::Tensor& upstream, const at::Tensor& weight,
                const at::Tensor& bias, bool synced) {
  auto options = torch::nn::BatchNormOptions(c.sample[0]).affine(c.affine).momentum(c.momentum);
  Result r;
  if (!synced) {
    LibTorchBn bn(options);
    copy_affine(bn, weight, bias);
    at::Tensor input = x.clone().requires_grad_();
    r.out = bn->forward(input);
    (r.out * upstream).sum().backward();
    r.grad_input = input.grad();
    if (c.affine) r.grad_weight = bn->weight.grad(), r.grad_bias = bn->bias.grad();
    r.running_mean = bn->running_mean, r.running_var = bn->running_var, r.num_batches_tracked = bn->num_batches_tracked;
    return r;
  }
  const int ranks = static_cast<int>(c.shards.size());
  ThreadGroup group(ranks);
  std::vector<ReskitBn> bns;
  std::vector<at::Tensor> inputs, outs(static_cast<size_t>(ranks));
  std::vector<std::exception_ptr> errors(static_cast<size_t>(ranks));
  int64_t start = 0;
  for (int k = 0; k < ranks; ++k) {
    bns.emplace_back(options);
    copy_affine(bns.back(), weight, bias);
    inputs.push_back(x.slice(0, start, start + c.shards[static_cast<size_t>(k)]).clone().requires_grad_());
    start += c.shards[static_cast<size_t>(k)];
  }
  std::vector<std::thread> threads;
  start = 0;
  for (int k = 0; k < ranks; ++k) {
    const at::Tensor g = upstream.slice(0, start, start + c.shards[static_cast<size_t>(k)]);
    start += c.shards[static_cast<size_t>(k)];
    threads.emplace_back([&, k, g] {
      try {
        layers::SyncBatchNormScope scope(std::make_shared<RankReducer>(group, k));
        outs[static_cast<size_t>(k)] = bns[static_cast<size_t>(k)]->forward(inputs[static_cast<size_t>(k)]);
        (outs[static_cast<size_t>(k)] * g).sum().backward();
      } catch (...) {
        errors[static_cast<size_t>(k)] = std::current_exception();
      }
    });
  }
  for (auto& t : threads) t.join();
  for (auto& e : errors)
    if (e) std::rethrow_exception(e);
  std::vector<at::Tensor> grads;
  for (auto& in : inputs) grads.push_back(in.grad());
  r.out = at::cat(outs);
  r.grad_input = at::cat(grads);
  if (c.affine) {
    r.grad_weight = at::zeros_like(weight), r.grad_bias = at::zeros_like(bias);
    for (auto& bn : bns) r.grad_weight += bn->weight.grad(), r.grad_bias += bn->bias.grad();
  }
  // Every rank's running stats must be the global ones.
  for (auto& bn : bns) {
    EXPECT_TRUE(test::close(bn->running_mean, bns[0]->running_mean, 0));
    EXPECT_TRUE(test::close(bn->running_var, bns[0]->running_var, 0));
  }
  r.running_mean = bns[0]->running_mean, r.running_var = bns[0]->running_var;
  r.num_batches_tracked = bns[0]->num_batches_tracked;
  return r;
}

void PrintTo(const SyncCase& c, std::ostream* os) { *os << c.id; }

class SyncBatchNorm : public ::testing::TestWithParam<SyncCase> {};

TEST_P(SyncBatchNorm, ShardsTogetherAreBatchNormOfTheWholeBatch) {
  const SyncCase& c = GetParam();
  at::manual_seed(7);
  int64_t n = 0;
  for (int64_t s : c.shards) n += s;
  std::vector<int64_t> shape = {n};
  shape.insert(shape.end(), c.sample.begin(), c.sample.end());
  // Channels with their own offset and scale, so that the mean and the variance both matter.
  std::vector<int64_t> channel_shape(shape.size(), 1);
  channel_shape[1] = c.sample[0];
  const at::Tensor x = at::randn(shape) * (at::rand(channel_shape) * 3 + 0.5) + at::randn(channel_shape) * 2;
  const at::Tensor upstream = at::randn(shape);
  const at::Tensor weight = c.affine ? at::rand({c.sample[0]}) + 0.5 : at::Tensor();
  const at::Tensor bias = c.affine ? at::randn({c.sample[0]}) : at::Tensor();

  Result expected, actual;
  if (c.dims == 1) {
    expected = run_case<torch::nn::BatchNorm1d, layers::BatchNorm1d>(c, x, upstream, weight, bias, false);
    actual = run_case<torch::nn::BatchNorm1d, layers::BatchNorm1d>(c, x, upstream, weight, bias, true);
  } else {
    expected = run_case<torch::nn::BatchNorm2d, layers::BatchNorm2d>(c, x, upstream, weight, bias, false);
    actual = run_case<torch::nn::BatchNorm2d, layers::BatchNorm2d>(c, x, upstream, weight, bias, true);
  }
  EXPECT_TRUE(test::close(actual.out, expected.out, 1e-5)) << "output";
  EXPECT_TRUE(test::close(actual.grad_input, expected.grad_input, 1e-5)) << "input gradient";
  if (c.affine) {
    EXPECT_TRUE(test::close(actual.grad_weight, expected.grad_weight, 1e-5)) << "weight gradient";
    EXPECT_TRUE(test::close(actual.grad_bias, expected.grad_bias, 1e-5)) << "bias gradient";
  }
  EXPECT_TRUE(test::close(actual.running_mean, expected.running_mean, 1e-5)) << "running_mean";
  EXPECT_TRUE(test::close(actual.running_var, expected.running_var, 1e-5)) << "running_var";
  EXPECT_TRUE(at::equal(actual.num_batches_tracked, expected.num_batches_tracked));
}

INSTANTIATE_TEST_SUITE_P(
    Cases, SyncBatchNorm,
    ::testing::Values(SyncCase{"bn2d_uneven_shards", 2, {5, 6, 7}, {3, 1}},
                      SyncCase{"bn2d_three_ranks_no_affine", 2, {4, 3, 5}, {2, 1, 2}, false},
                      SyncCase{"bn1d_codes", 1, {6, 9}, {2, 2}},  // EncNet's Encoding output: N x K x C
                      SyncCase{"bn1d_flat_cumulative", 1, {8}, {3, 2}, true, c10::nullopt},
                      SyncCase{"bn2d_one_rank_empty", 2, {3, 4, 4}, {3, 0}}),
    test::CaseName());

TEST(SyncBatchNorm, WithoutAReducerIsLibTorchsBatchNorm) {
  at::manual_seed(3);
  const at::Tensor x = at::randn({4, 6, 5, 5}) * 2 + 1;
  torch::nn::BatchNorm2d theirs(torch::nn::BatchNorm2dOptions(6).momentum(0.3));
  layers::BatchNorm2d ours(torch::nn::BatchNorm2dOptions(6).momentum(0.3));
  for (int pass = 0; pass < 2; ++pass) {
    EXPECT_TRUE(at::equal(ours->forward(x), theirs->forward(x)));
    EXPECT_TRUE(at::equal(ours->running_mean, theirs->running_mean));
    EXPECT_TRUE(at::equal(ours->running_var, theirs->running_var));
  }
  ours->eval(), theirs->eval();
  EXPECT_TRUE(at::equal(ours->forward(x), theirs->forward(x)));
  // Same class to the rest of reskit: print(model), `as<torch::nn::BatchNorm2d>()`, state-dict keys.
  EXPECT_EQ(tasks::python_repr(*ours), tasks::python_repr(*theirs));
  EXPECT_EQ(tasks::python_repr(*layers::BatchNorm1d(7)), tasks::python_repr(*torch::nn::BatchNorm1d(7)));
  const auto text = [](const torch::nn::Module& m) {
    std::ostringstream s;
    s << m;
    return s.str();
  };
  const auto odd = torch::nn::BatchNormOptions(3).eps(1e-3).momentum(c10::nullopt).affine(false);
  EXPECT_EQ(text(*ours), text(*theirs));
  EXPECT_EQ(text(*layers::BatchNorm2d(odd)), text(*torch::nn::BatchNorm2d(odd)));
  EXPECT_EQ(text(*layers::BatchNorm1d(odd)), text(*torch::nn::BatchNorm1d(odd)));
  std::shared_ptr<torch::nn::Module> as_module = ours.ptr();
  EXPECT_NE(as_module->as<torch::nn::BatchNorm2d>(), nullptr);
  EXPECT_EQ(ours->named_parameters().keys(), theirs->named_parameters().keys());
  EXPECT_EQ(ours->named_buffers().keys(), theirs->named_buffers().keys());
}

TEST(SyncBatchNorm, EvalModeAndOtherThreadsIgnoreTheReducer) {
  at::manual_seed(4);
  const at::Tensor x = at::randn({3, 4, 2, 2});
  ThreadGroup group(1);
  layers::SyncBatchNormScope scope(std::make_shared<RankReducer>(group, 0));
  layers::BatchNorm2d ours(4);
  torch::nn::BatchNorm2d theirs(4);
  ours->eval(), theirs->eval();
  EXPECT_TRUE(at::equal(ours->forward(x), theirs->forward(x)));
  ours->train();
  std::thread([&] { ours->forward(x); }).join();  // no scope on that thread
  EXPECT_EQ(group.calls(), 0);
  ours->forward(x);
  EXPECT_EQ(group.calls(), 1);
}

TEST(SyncBatchNorm, OneValuePerChannelOverAllRanksIsAnError) {
  ThreadGroup group(1);
  layers::SyncBatchNormScope scope(std::make_shared<RankReducer>(group, 0));
  layers::BatchNorm1d bn(4);
  try {
    bn->forward(at::randn({1, 4}));
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "SyncBatchNorm: expected more than 1 value per channel when training, got 1 over all processes");
  }
}

}  // namespace
}  // namespace reskit
