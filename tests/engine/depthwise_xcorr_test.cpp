// reskit's depthwise cross-correlation against LibTorch's grouped
// convolution, for every ISA this machine has (down to the portable one),
// over odd map and kernel sizes, rows shorter than the kernel's run of
// outputs, with and without a bias; then in a plan between convolutions,
// with template kernels that change from run to run.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <vector>

#include "reskit/engine/kernels/depthwise_xcorr.h"
#include "reskit/engine/plan.h"
#include "kernel_test_util.h"
#include "test_util.h"

namespace reskit {
namespace {

using engine::kernels::DepthwiseXCorrKernel;
using engine::kernels::DepthwiseXCorrShape;
using engine::kernels::Isa;

struct Case {
  std::string id;
  int64_t channels, height, width, kernel_h, kernel_w;
  bool bias;
  std::string name() const { return id; }
};

class DepthwiseXCorr : public ::testing::TestWithParam<Case> {};

TEST_P(DepthwiseXCorr, EachIsaEqualsLibTorch) {
  const Case& c = GetParam();
  torch::manual_seed(21);
  const at::Tensor x = at::randn({1, c.channels, c.height, c.width});
  const at::Tensor k = at::randn({c.channels, 1, c.kernel_h, c.kernel_w});
  const at::Tensor b = c.bias ? at::randn({c.channels}) : at::Tensor();
  const at::Tensor expected = at::conv2d(x, k, b, at::IntArrayRef{1}, at::IntArrayRef{0}, at::IntArrayRef{1}, c.channels);
  DepthwiseXCorrShape shape;
  shape.channels = c.channels;
  shape.height = c.height;
  shape.width = c.width;
  shape.kernel_h = c.kernel_h;
  shape.kernel_w = c.kernel_w;
  for (const Isa isa : test::kernel_isas()) {
    ASSERT_TRUE(DepthwiseXCorrKernel::supports(shape, isa)) << engine::kernels::isa_name(isa);
    const DepthwiseXCorrKernel kernel(shape, isa);
    const at::Tensor src = test::blocked(x, kernel.lanes());
    at::Tensor dst = at::full({1, c.channels / kernel.lanes(), shape.out_height(), shape.out_width(), kernel.lanes()}, NAN);
    std::vector<float> scratch(kernel.scratch_bytes() / sizeof(float) + 16);
    kernel.run(src.data_ptr<float>(), k.contiguous().data_ptr<float>(), c.bias ? b.data_ptr<float>() : nullptr,
               dst.data_ptr<float>(), reinterpret_cast<std::byte*>(scratch.data()));
    EXPECT_TRUE(test::close(test::dense(dst), expected, 1e-5)) << engine::kernels::isa_name(isa);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, DepthwiseXCorr,
    ::testing::Values(Case{"siamban_like", 32, 29, 29, 5, 5, true},
                      Case{"tall_kernel_no_bias", 48, 9, 14, 3, 7, false},
                      Case{"kernel_as_large_as_the_map", 16, 7, 7, 7, 7, true},
                      Case{"rows_shorter_than_a_run", 16, 4, 5, 2, 2, false},
                      Case{"one_tap", 64, 6, 11, 1, 1, true}),
    test::CaseName());

// A tracker's head in small: the search branch's convolution, the
// correlation with a template branch's output, a 1x1 after it. The plan's
// correlation runs on reskit's kernel and reads each run's template.
TEST(EngineXCorr, CorrelatesWithTheTemplateOfEachRun) {
  torch::manual_seed(22);
  struct Head : torch::nn::Module {
    torch::nn::Conv2d search{nullptr}, templ{nullptr}, after{nullptr};
  } head;
  head.search = head.register_module("search", torch::nn::Conv2d(torch::nn::Conv2dOptions(8, 32, 3).bias(false)));
  head.templ = head.register_module("templ", torch::nn::Conv2d(torch::nn::Conv2dOptions(8, 32, 3).bias(false)));
  head.after = head.register_module("after", torch::nn::Conv2d(torch::nn::Conv2dOptions(32, 6, 1)));
  head.eval();
  const engine::TensorFunction f = [&](const std::vector<at::Tensor>& in) {
    const at::Tensor x = head.search->forward(in[1]);
    const at::Tensor k = head.templ->forward(in[0]);
    const at::Tensor xc = at::conv2d(x.reshape({1, 32, x.size(2), x.size(3)}), k.reshape({32, 1, k.size(2), k.size(3)}),
                                     at::Tensor(), at::IntArrayRef{1}, at::IntArrayRef{0}, at::IntArrayRef{1}, 32);
    return std::vector<at::Tensor>{head.after->forward(xc.view({1, 32, xc.size(2), xc.size(3)}))};
  };
  torch::NoGradGuard no_grad;
  const engine::Plan plan = engine::compile(head, f, {at::randn({1, 8, 7, 7}), at::randn({1, 8, 17, 19})});
  if (plan.steps_text().find("onednn") != std::string::npos)
    EXPECT_NE(plan.steps_text().find("xcorr depthwise 5x5 32ch 11x13"), std::string::npos) << plan.steps_text();
  for (int run = 0; run < 3; ++run) {
    const std::vector<at::Tensor> in = {at::randn({1, 8, 7, 7}), at::randn({1, 8, 17, 19})};
    EXPECT_TRUE(test::close(plan.run(in)[0], f(in)[0], 1e-5)) << "run " << run << "\n" << plan.steps_text();
  }
}

}  // namespace
}  // namespace reskit
