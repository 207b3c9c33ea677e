// The engine's kernels against eager LibTorch on small graphs of one kind of
// op each, over odd shapes: channels that are not a multiple of the blocking
// (8 or 16), stride, dilation, groups, padding, batch > 1, 3-D, the residual
// and every fusable activation; pooling with ceil_mode and both padding
// counts. Each case runs through the CPU backend (oneDNN where reskit has it)
// and through ATen alone, and both must equal eager.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <functional>

#include "reskit/engine/plan.h"
#include "reskit/layers/conv.h"
#include "test_util.h"

namespace reskit {
namespace {

using Forward = std::function<at::Tensor(const at::Tensor&)>;

// A module that holds the parameters of a case and runs its forward.
struct Net : torch::nn::Module {
  Forward forward;
};

void expect_engine_equals_eager(Net& net, const std::vector<int64_t>& input_size, const std::string& name,
                                double tol = 1e-5) {
  net.eval();
  const at::Tensor x = at::randn(input_size);
  const engine::TensorFunction f = [&](const std::vector<at::Tensor>& in) {
    return std::vector<at::Tensor>{net.forward(in[0])};
  };
  at::Tensor expected;
  {
    torch::NoGradGuard no_grad;
    expected = net.forward(x);
  }
  for (const bool backend : {true, false}) {
    engine::CompileOptions options;
    options.use_backend = backend;
    const engine::Plan plan = engine::compile(net, f, {x}, options);
    const at::Tensor got = plan.run({x})[0];
    ASSERT_EQ(got.sizes(), expected.sizes()) << name;
    EXPECT_TRUE(test::close(got, expected, tol)) << name << (backend ? " (backend)" : " (aten)") << "\n"
                                                 << plan.steps_text();
  }
}

struct ConvCase {
  std::string id;
  int64_t in, out, kernel, stride, padding, dilation, groups;
  std::vector<int64_t> input;  // N x C x spatial
  bool bias, batch_norm, residual;
  std::string activation;  // "", relu, leaky_relu, silu, sigmoid, relu6, hardtanh
  std::string name() const { return id; }
};

class EngineConv : public ::testing::TestWithParam<ConvCase> {};

// A reskit convolution (2-D or 3-D) registered in `net`, as a function.
Forward add_conv(Net& net, const std::string& name, bool three_d, int64_t in, int64_t out, int64_t kernel,
                 int64_t stride, int64_t padding, int64_t dilation, int64_t groups, bool bias) {
  if (three_d) {
    auto m = net.register_module(name, layers::Conv3d(torch::nn::Conv3dOptions(in, out, kernel)
                                                          .stride(stride).padding(padding).dilation(dilation)
                                                          .groups(groups).bias(bias)));
    return [m](const at::Tensor& x) mutable { return m->forward(x); };
  }
  auto m = net.register_module(name, layers::Conv2d(torch::nn::Conv2dOptions(in, out, kernel)
                                                        .stride(stride).padding(padding).dilation(dilation)
                                                        .groups(groups).bias(bias)));
  return [m](const at::Tensor& x) mutable { return m->forward(x); };
}

// An eval-mode BatchNorm with random statistics and affine parameters.
template <typename BatchNorm>
Forward add_random_batch_norm(Net& net, int64_t channels) {
  auto b = net.register_module("bn", BatchNorm(channels));
  torch::NoGradGuard no_grad;
  b->running_mean.uniform_(-0.5, 0.5);
  b->running_var.uniform_(0.5, 2.0);
  b->weight.uniform_(0.5, 1.5);
  b->bias.uniform_(-0.5, 0.5);
  return [b](const at::Tensor& x) mutable { return b->forward(x); };
}

Forward add_batch_norm(Net& net, bool three_d, int64_t channels) {
  return three_d ? add_random_batch_norm<torch::nn::BatchNorm3d>(net, channels)
                 : add_random_batch_norm<torch::nn::BatchNorm2d>(net, channels);
}

TEST_P(EngineConv, EqualsEager) {
  const ConvCase& c = GetParam();
  torch::manual_seed(7);
  Net net;
  const bool three_d = c.input.size() == 5;
  const Forward conv_forward = add_conv(net, "conv", three_d, c.in, c.out, c.kernel, c.stride, c.padding, c.dilation,
                                        c.groups, c.bias);
  std::function<at::Tensor(const at::Tensor&)> norm = [](const at::Tensor& x) { return x; };
  if (c.batch_norm) norm = add_batch_norm(net, three_d, c.out);
  // The residual is the input through a 1x1 convolution of the same stride
  // (a ResNet's downsample), cropped where the main one's padding shrinks it.
  Forward skip_forward;
  if (c.residual) skip_forward = add_conv(net, "skip", three_d, c.in, c.out, 1, c.stride, 0, 1, 1, false);
  const std::string act = c.activation;
  net.forward = [=](const at::Tensor& x) {
    // The skip first, so that the convolution's sum post-op can take it.
    at::Tensor s = skip_forward ? skip_forward(x) : at::Tensor();
    at::Tensor y = norm(conv_forward(x));
    if (s.defined()) {
      // The 1x1 skip's output may be larger where the conv's padding shrinks it: crop.
      bool crop = false;
      for (int64_t d = 2; d < y.dim(); ++d) crop = crop || s.size(d) != y.size(d);
      for (int64_t d = 2; crop && d < y.dim(); ++d) s = s.narrow(d, 0, y.size(d));
      y = y + (crop ? s.contiguous() : s);
    }
    if (act == "relu") return torch::relu(y);
    if (act == "leaky_relu") return torch::leaky_relu(y, 0.1);
    if (act == "silu") return torch::silu(y);
    if (act == "sigmoid") return torch::sigmoid(y);
    if (act == "relu6") return torch::nn::functional::relu6(y);
    if (act == "hardtanh") return torch::hardtanh(y, -0.5, 0.75);
    return y;
  };
  expect_engine_equals_eager(net, c.input, c.id);
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, EngineConv,
    ::testing::Values(
        ConvCase{"k3_odd_channels", 5, 7, 3, 1, 1, 1, 1, {1, 5, 13, 11}, true, false, false, ""},
        ConvCase{"k3_bn_relu_batch3", 16, 24, 3, 1, 1, 1, 1, {3, 16, 9, 10}, false, true, false, "relu"},
        ConvCase{"k3_stride2_residual", 24, 32, 3, 2, 1, 1, 1, {2, 24, 15, 17}, false, true, true, "relu"},
        ConvCase{"k3_dilated2", 16, 16, 3, 1, 2, 2, 1, {1, 16, 20, 20}, true, false, false, "leaky_relu"},
        ConvCase{"k3_dilated4_no_pad", 8, 12, 3, 1, 0, 4, 1, {1, 8, 21, 19}, false, false, false, "silu"},
        ConvCase{"k1_residual_relu", 64, 64, 1, 1, 0, 1, 1, {1, 64, 7, 7}, false, true, true, "relu"},
        ConvCase{"k1_stride2_sigmoid", 48, 96, 1, 2, 0, 1, 1, {1, 48, 14, 13}, true, false, false, "sigmoid"},
        ConvCase{"k7_stem", 3, 64, 7, 2, 3, 1, 1, {2, 3, 33, 31}, false, true, false, "relu"},
        ConvCase{"k5_pad_more_than_needed", 6, 10, 5, 3, 3, 1, 1, {1, 6, 11, 12}, true, false, false, "relu6"},
        ConvCase{"groups4", 32, 32, 3, 1, 1, 1, 4, {1, 32, 12, 12}, false, true, false, "hardtanh"},
        ConvCase{"depthwise", 24, 24, 3, 1, 1, 1, 24, {2, 24, 10, 9}, true, false, false, "relu"},
        ConvCase{"winograd_size", 64, 64, 3, 1, 1, 1, 1, {1, 64, 28, 28}, false, true, true, "relu"},
        // reskit's own kernels run these too (channels in whole blocks, small maps).
        ConvCase{"small_map_k3_residual", 32, 64, 3, 1, 1, 1, 1, {2, 32, 9, 9}, true, false, true, "relu"},
        ConvCase{"small_map_k1_stride2", 64, 64, 1, 2, 0, 1, 1, {1, 64, 13, 14}, false, true, false, "leaky_relu"},
        ConvCase{"k3_3d", 5, 8, 3, 1, 1, 1, 1, {1, 5, 4, 9, 9}, true, false, false, "relu"},
        ConvCase{"k3_3d_stride_residual", 16, 16, 3, 2, 1, 1, 1, {2, 16, 5, 8, 7}, false, true, true, "relu"}),
    test::CaseName());

struct PoolCase {
  std::string id;
  std::vector<int64_t> input;
  std::function<at::Tensor(const at::Tensor&)> pool;
  std::string name() const { return id; }
};

class EnginePool : public ::testing::TestWithParam<PoolCase> {};

// The pooling reads a convolution's output, so that it meets the backend's layout.
TEST_P(EnginePool, EqualsEager) {
  const PoolCase& c = GetParam();
  torch::manual_seed(8);
  Net net;
  const int64_t channels = c.input[1];
  const Forward conv = add_conv(net, "conv", c.input.size() == 5, channels, channels, 1, 1, 0, 1, 1, true);
  const auto pool = c.pool;
  net.forward = [=](const at::Tensor& x) { return pool(conv(x)); };
  expect_engine_equals_eager(net, c.input, c.id);
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, EnginePool,
    ::testing::Values(
        PoolCase{"max_3x3_s2_p1", {1, 16, 15, 14},
                 [](const at::Tensor& x) { return torch::max_pool2d(x, {3, 3}, {2, 2}, {1, 1}); }},
        PoolCase{"max_ceil_mode", {2, 5, 13, 12},
                 [](const at::Tensor& x) { return torch::max_pool2d(x, {3, 3}, {2, 2}, {0, 0}, {1, 1}, true); }},
        PoolCase{"max_floor_drops_a_row", {1, 8, 7, 7},
                 [](const at::Tensor& x) { return torch::max_pool2d(x, {2, 2}, {2, 2}); }},
        PoolCase{"max_dilated", {1, 8, 12, 12},
                 [](const at::Tensor& x) { return torch::max_pool2d(x, {3, 3}, {1, 1}, {1, 1}, {2, 2}); }},
        PoolCase{"max_sppf_5x5_s1", {1, 32, 10, 10},
                 [](const at::Tensor& x) { return torch::max_pool2d(x, {5, 5}, {1, 1}, {2, 2}); }},
        PoolCase{"avg_count_pad", {1, 12, 9, 11},
                 [](const at::Tensor& x) { return torch::avg_pool2d(x, {3, 3}, {2, 2}, {1, 1}, false, true); }},
        PoolCase{"avg_exclude_pad", {1, 12, 9, 11},
                 [](const at::Tensor& x) { return torch::avg_pool2d(x, {3, 3}, {2, 2}, {1, 1}, false, false); }},
        PoolCase{"avg_ceil_count_pad", {1, 7, 10, 10},
                 [](const at::Tensor& x) { return torch::avg_pool2d(x, {3, 3}, {2, 2}, {1, 1}, true, true); }},
        PoolCase{"adaptive_avg_1", {2, 20, 7, 7},
                 [](const at::Tensor& x) { return torch::adaptive_avg_pool2d(x, {1, 1}); }},
        PoolCase{"adaptive_avg_uneven", {1, 16, 10, 9},
                 [](const at::Tensor& x) { return torch::adaptive_avg_pool2d(x, {3, 3}); }},
        PoolCase{"max_3d", {1, 8, 6, 9, 9},
                 [](const at::Tensor& x) { return torch::max_pool3d(x, {1, 3, 3}, {1, 2, 2}, {0, 1, 1}); }},
        PoolCase{"avg_3d_adaptive", {1, 16, 4, 7, 7},
                 [](const at::Tensor& x) { return torch::adaptive_avg_pool3d(x, {1, 1, 1}); }},
        PoolCase{"relu_add_after", {1, 16, 6, 6},
                 [](const at::Tensor& x) { return torch::relu(x) + torch::sigmoid(x); }}),
    test::CaseName());


// Graphs that tempt the lowering to overwrite what a later step still reads,
// on oneDNN's direct kernels (RESKIT_TUNE=0: the choice cannot depend on
// timing), at sizes where a kernel cannot hold its whole input in registers.
class UntunedScope {
 public:
  UntunedScope() { setenv("RESKIT_TUNE", "0", 1); }
  ~UntunedScope() { unsetenv("RESKIT_TUNE"); }
};

TEST(EngineAliasing, AConvolutionPlusItsOwnInputReadsTheInputWhole) {
  torch::manual_seed(9);
  UntunedScope untuned;
  Net net;
  const Forward pre = add_conv(net, "pre", false, 64, 64, 1, 1, 0, 1, 1, true);
  const Forward conv = add_conv(net, "conv", false, 64, 64, 3, 1, 1, 1, 1, true);
  net.forward = [=](const at::Tensor& x) {
    const at::Tensor y = pre(x);  // a buffer the plan owns, read last by the sum
    return torch::relu(conv(y) + y);
  };
  expect_engine_equals_eager(net, {1, 64, 56, 56}, "conv(y) + y");
}

TEST(EngineAliasing, AFlattenReadLaterIsNotOverwrittenBetween) {
  torch::manual_seed(10);
  UntunedScope untuned;
  Net net;
  const Forward conv = add_conv(net, "conv", false, 16, 32, 3, 1, 1, 1, 1, true);
  auto fc = net.register_module("fc", torch::nn::Linear(32 * 4 * 4, 5));
  net.forward = [=](const at::Tensor& x) mutable {
    const at::Tensor y = conv(x);
    const at::Tensor flat = y.flatten(1);
    const at::Tensor r = torch::relu(y);  // reads y after the flatten, and may take its buffer
    return fc->forward(flat) + r.sum({1, 2, 3}, true);
  };
  expect_engine_equals_eager(net, {2, 16, 4, 4}, "flatten, relu, linear");
}

TEST(EnginePlan, RefusesInputsOfAnotherDtypeOrDevice) {
  Net net;
  const Forward conv = add_conv(net, "conv", false, 4, 4, 3, 1, 1, 1, 1, true);
  net.forward = conv;
  net.eval();
  const engine::TensorFunction f = [&](const std::vector<at::Tensor>& in) {
    return std::vector<at::Tensor>{net.forward(in[0])};
  };
  const engine::Plan plan = engine::compile(net, f, {at::randn({1, 4, 8, 8})});
  EXPECT_EQ(test::error_of([&] { plan.run({at::randn({1, 4, 8, 8}, at::kDouble)}); }),
            "engine: input 0 is 1x4x8x8 Double on cpu, the plan was compiled for 1x4x8x8 Float on cpu");
}


// A channel concatenation of buffers and a graph input, as YOLOv5's SPPF and
// RFB's branches make them, in every layout the convolutions around it take.
TEST(EngineConcat, JoinsBuffersAndTensorsOnTheChannels) {
  torch::manual_seed(12);
  Net net;
  const Forward pre = add_conv(net, "pre", false, 24, 16, 1, 1, 0, 1, 1, true);
  const Forward post = add_conv(net, "post", false, 16 * 3 + 24, 40, 1, 1, 0, 1, 1, true);
  net.forward = [=](const at::Tensor& x) {
    const at::Tensor a = pre(x);
    const at::Tensor b = torch::max_pool2d(a, {5, 5}, {1, 1}, {2, 2});
    const at::Tensor c = torch::max_pool2d(b, {5, 5}, {1, 1}, {2, 2});
    return post(torch::cat({a, b, c, x}, 1));
  };
  expect_engine_equals_eager(net, {2, 24, 11, 13}, "cat");
}

// Two plans of one network at two input sizes (a tracker's template and
// search crops) compiled with one weight pool: each equals eager, and the
// second takes from the pool the weights it wants in the first's layout.
TEST(EngineWeightPool, PlansOfOneNetworkHoldTheirCommonWeightsOnce) {
  torch::manual_seed(13);
  Net net;
  const Forward a = add_conv(net, "a", false, 16, 32, 1, 1, 0, 1, 1, true);
  const Forward b = add_conv(net, "b", false, 32, 48, 3, 1, 1, 1, 1, true);
  const Forward c = add_conv(net, "c", false, 48, 64, 1, 1, 0, 1, 1, false);
  net.forward = [=](const at::Tensor& x) { return c(torch::relu(b(torch::relu(a(x))))); };
  net.eval();
  const engine::TensorFunction f = [&](const std::vector<at::Tensor>& in) {
    return std::vector<at::Tensor>{net.forward(in[0])};
  };
  engine::CompileOptions options;
  options.weight_pool = std::make_shared<engine::WeightPool>();
  size_t alone_bytes = 0;
  for (const std::vector<int64_t>& size : {std::vector<int64_t>{1, 16, 15, 15}, std::vector<int64_t>{1, 16, 31, 31}}) {
    const at::Tensor x = at::randn(size);
    torch::NoGradGuard no_grad;
    const engine::Plan plan = engine::compile(net, f, {x}, options);
    EXPECT_TRUE(test::close(plan.run({x})[0], net.forward(x), 1e-5)) << plan.steps_text();
    if (!alone_bytes) alone_bytes = plan.memory().weight_bytes;
  }
  if (alone_bytes == 0) GTEST_SKIP() << "no CPU backend: the plans hold no reordered weights";
  EXPECT_GT(options.weight_pool->shared_bytes(), 0u);
  EXPECT_LE(options.weight_pool->shared_bytes(), alone_bytes);
}

}  // namespace
}  // namespace reskit
