// reskit's max-pool pyramid against LibTorch's max pooling and cat, for
// every ISA this machine has (down to the portable one): SPPF's chain, SPP's
// fan and a mix, over maps smaller than the kernel, batches and NaN; then in
// a plan, where SPPF's and SPP's pools and concatenation become its one step.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <vector>

#include "kernel_test_util.h"
#include "reskit/engine/kernels/max_pool_pyramid.h"
#include "reskit/engine/plan.h"
#include "test_util.h"

namespace reskit {
namespace {

using engine::kernels::Isa;
using engine::kernels::MaxPoolPyramid;
using engine::kernels::PyramidLevel;

// What PyTorch computes: each level pools the map or an earlier level, then all are joined on the channels.
at::Tensor reference(const at::Tensor& x, const std::vector<PyramidLevel>& levels) {
  std::vector<at::Tensor> parts = {x};
  for (const PyramidLevel& level : levels)
    parts.push_back(at::max_pool2d(parts[static_cast<size_t>(level.from)], {level.kernel, level.kernel}, {1, 1},
                                   {level.kernel / 2, level.kernel / 2}));
  return at::cat(parts, 1);
}

struct Case {
  std::string id;
  int64_t batch, channels, height, width;
  std::vector<PyramidLevel> levels;
  bool nan;
  std::string name() const { return id; }
};

class Pyramid : public ::testing::TestWithParam<Case> {};

TEST_P(Pyramid, EachIsaEqualsLibTorch) {
  const Case& c = GetParam();
  torch::manual_seed(41);
  at::Tensor x = at::randn({c.batch, c.channels, c.height, c.width});
  if (c.nan) {
    x[0][3][c.height / 2][c.width / 2] = NAN;
    x[c.batch - 1][c.channels - 1][0][0] = NAN;
  }
  const at::Tensor expected = reference(x, c.levels);
  for (const Isa isa : test::kernel_isas()) {
    ASSERT_TRUE(MaxPoolPyramid::supports(c.channels, c.levels, isa)) << engine::kernels::isa_name(isa);
    const MaxPoolPyramid kernel(c.batch, c.channels, c.height, c.width, c.levels, isa);
    const int64_t parts = static_cast<int64_t>(c.levels.size()) + 1;
    at::Tensor dst = at::full({c.batch, parts * c.channels / kernel.lanes(), c.height, c.width, kernel.lanes()}, -7.0);
    std::vector<float> scratch(kernel.scratch_bytes(at::get_num_threads()) / sizeof(float) + 16);
    kernel.run(test::blocked(x, kernel.lanes()).data_ptr<float>(), dst.data_ptr<float>(),
               reinterpret_cast<std::byte*>(scratch.data()));
    // Maxima are values of the map: equal, NaN where PyTorch has NaN.
    const at::Tensor got = test::dense(dst);
    EXPECT_TRUE(at::equal(at::isnan(got), at::isnan(expected))) << engine::kernels::isa_name(isa);
    EXPECT_TRUE(at::equal(at::nan_to_num(got), at::nan_to_num(expected))) << engine::kernels::isa_name(isa);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, Pyramid,
    ::testing::Values(Case{"sppf_chain", 1, 32, 20, 20, {{5, 0}, {5, 1}, {5, 2}}, false},
                      Case{"spp_fan", 2, 16, 13, 11, {{5, 0}, {9, 0}, {13, 0}}, false},
                      Case{"mixed_with_nan", 2, 48, 9, 7, {{3, 0}, {7, 1}, {1, 0}, {5, 2}}, true},
                      Case{"map_smaller_than_kernel", 1, 16, 2, 3, {{5, 0}, {5, 1}}, true}),
    test::CaseName());

// SPPF and SPP between two convolutions: each pyramid is one step, and the plan equals eager.
TEST(EnginePyramid, SppfAndSppBecomeOneStepEqualToEager) {
  torch::manual_seed(42);
  struct Net : torch::nn::Module {
    torch::nn::Conv2d pre{nullptr}, post_f{nullptr}, post_s{nullptr};
  } net;
  net.pre = net.register_module("pre", torch::nn::Conv2d(torch::nn::Conv2dOptions(24, 32, 1)));
  net.post_f = net.register_module("post_f", torch::nn::Conv2d(torch::nn::Conv2dOptions(128, 16, 1)));
  net.post_s = net.register_module("post_s", torch::nn::Conv2d(torch::nn::Conv2dOptions(128, 16, 1)));
  net.eval();
  const engine::TensorFunction f = [&](const std::vector<at::Tensor>& in) {
    const at::Tensor a = net.pre->forward(in[0]);
    const at::Tensor y1 = at::max_pool2d(a, {5, 5}, {1, 1}, {2, 2});
    const at::Tensor y2 = at::max_pool2d(y1, {5, 5}, {1, 1}, {2, 2});
    const at::Tensor sppf = net.post_f->forward(at::cat({a, y1, y2, at::max_pool2d(y2, {5, 5}, {1, 1}, {2, 2})}, 1));
    std::vector<at::Tensor> spp = {a};
    for (int64_t k : {5, 9, 13}) spp.push_back(at::max_pool2d(a, {k, k}, {1, 1}, {k / 2, k / 2}));
    return std::vector<at::Tensor>{sppf, net.post_s->forward(at::cat(spp, 1))};
  };
  torch::NoGradGuard no_grad;
  const at::Tensor x = at::randn({2, 24, 11, 13});
  const engine::Plan plan = engine::compile(net, f, {x});
  const std::string steps = plan.steps_text();
  if (steps.find("onednn") != std::string::npos) {
    EXPECT_NE(steps.find("max-pool pyramid 5x5 5x5 5x5 -> 128 11x13"), std::string::npos) << steps;
    EXPECT_NE(steps.find("max-pool pyramid 5x5 9x9 13x13 -> 128 11x13"), std::string::npos) << steps;
    EXPECT_EQ(steps.find("max_pool"), std::string::npos) << steps;
  }
  const std::vector<at::Tensor> got = plan.run({x}), expected = f({x});
  for (size_t i = 0; i < got.size(); ++i) EXPECT_TRUE(test::close(got[i], expected[i], 1e-5)) << i << "\n" << steps;
}

}  // namespace
}  // namespace reskit
