// reskit's Conv1d/2d/3d: inference goes to oneDNN whatever the thread
// count, with LibTorch's results; what needs a gradient, and tracing, keep
// LibTorch's path; options, keys and repr are LibTorch's.
#include <ATen/Parallel.h>
#include <gtest/gtest.h>
#include <torch/csrc/autograd/grad_mode.h>

#include <torch/nn/modules/container/any.h>

#include "reskit/layers/conv.h"
#include "reskit/tasks/module_repr.h"
#include "test_util.h"

namespace reskit {
namespace {

struct ConvCase {
  std::string id;
  int64_t in, out;
  std::vector<int64_t> kernel, stride, padding, dilation;  // one entry per spatial dimension
  int64_t groups;
  bool bias;
  std::vector<int64_t> input;
  std::string name() const { return id; }
};

// Odd sizes, strides, dilation, groups, 1x1 and depthwise: the shapes the
// families use and the ones LibTorch's heuristics treat differently.
std::vector<ConvCase> cases() {
  return {
      {"conv1d_k3_s2", 6, 10, {3}, {2}, {1}, {1}, 1, true, {2, 6, 17}},
      {"conv2d_1x1_batch1", 64, 256, {1, 1}, {1, 1}, {0, 0}, {1, 1}, 1, false, {1, 64, 14, 14}},
      {"conv2d_3x3_dilated", 8, 12, {3, 3}, {1, 1}, {2, 2}, {2, 2}, 1, true, {1, 8, 13, 11}},
      {"conv2d_grouped_strided", 12, 24, {3, 3}, {2, 2}, {1, 1}, {1, 1}, 3, true, {2, 12, 9, 15}},
      {"conv2d_depthwise", 16, 16, {3, 3}, {1, 1}, {1, 1}, {1, 1}, 16, true, {1, 16, 10, 10}},
      {"conv2d_stem_7x7", 3, 64, {7, 7}, {2, 2}, {3, 3}, {1, 1}, 1, false, {1, 3, 33, 31}},
      {"conv3d_3x1x1", 8, 16, {3, 1, 1}, {1, 1, 1}, {1, 0, 0}, {1, 1, 1}, 1, true, {1, 8, 5, 7, 7}},
      {"conv3d_1x3x3_strided_dilated", 8, 8, {1, 3, 3}, {1, 2, 2}, {0, 2, 2}, {1, 2, 2}, 1, true, {2, 8, 4, 9, 9}},
  };
}

template <typename Conv, typename Options, size_t D>
torch::nn::AnyModule make_conv(const ConvCase& c) {
  using A = torch::ExpandingArray<D>;
  return torch::nn::AnyModule(Conv(Options(c.in, c.out, A(at::IntArrayRef(c.kernel)))
                                       .stride(A(at::IntArrayRef(c.stride)))
                                       .padding(A(at::IntArrayRef(c.padding)))
                                       .dilation(A(at::IntArrayRef(c.dilation)))
                                       .groups(c.groups)
                                       .bias(c.bias)));
}

torch::nn::AnyModule make(const ConvCase& c) {
  if (c.kernel.size() == 1) return make_conv<layers::Conv1d, torch::nn::Conv1dOptions, 1>(c);
  if (c.kernel.size() == 2) return make_conv<layers::Conv2d, torch::nn::Conv2dOptions, 2>(c);
  return make_conv<layers::Conv3d, torch::nn::Conv3dOptions, 3>(c);
}

class ConvOnOneDnn : public ::testing::TestWithParam<ConvCase> {};

TEST_P(ConvOnOneDnn, AgreesWithLibTorchAtOneAndTwoThreads) {
  at::manual_seed(7);
  torch::nn::AnyModule conv = make(GetParam());
  const at::Tensor x = at::randn(GetParam().input);
  const int threads = at::get_num_threads();
  for (int t : {1, 2}) {
    at::set_num_threads(t);
    torch::NoGradGuard no_grad;
    const at::Tensor weight = conv.ptr()->named_parameters()["weight"];
    ASSERT_TRUE(layers::runs_on_onednn(x, weight, at::Tensor())) << "threads " << t;
    const at::Tensor ours = conv.forward<at::Tensor>(x);
    at::Tensor reference;
    {
      layers::LibTorchConvolutions libtorch;
      EXPECT_FALSE(layers::runs_on_onednn(x, weight, at::Tensor()));
      reference = conv.forward<at::Tensor>(x);
    }
    EXPECT_TRUE(test::close(ours, reference, 1e-5)) << GetParam().id << " at " << t << " thread(s)";
  }
  at::set_num_threads(threads);
}

INSTANTIATE_TEST_SUITE_P(Shapes, ConvOnOneDnn, ::testing::ValuesIn(cases()), test::CaseName());

TEST(ConvOnOneDnn, TrainingKeepsLibTorchsPathAndItsGradients) {
  at::manual_seed(3);
  layers::Conv2d conv(torch::nn::Conv2dOptions(4, 6, 3).padding(1));
  const at::Tensor x = at::randn({2, 4, 8, 8});
  EXPECT_FALSE(layers::runs_on_onednn(x, conv->weight, conv->bias));  // grad mode on, the weight requires grad
  conv->forward(x).square().sum().backward();
  const at::Tensor ours = conv->weight.grad().clone();
  conv->weight.grad().zero_();
  conv->torch::nn::Conv2dImpl::forward(x).square().sum().backward();
  EXPECT_TRUE(test::close(ours, conv->weight.grad(), 1e-6));
}

TEST(ConvOnOneDnn, OtherDtypesAndPaddingModesKeepLibTorchsPath) {
  layers::Conv2d reflect(torch::nn::Conv2dOptions(2, 2, 3).padding(1).padding_mode(torch::kReflect));
  layers::Conv2d same(torch::nn::Conv2dOptions(2, 2, 3).padding(torch::kSame));
  torch::NoGradGuard no_grad;
  const at::Tensor x = at::randn({1, 2, 6, 6});
  EXPECT_FALSE(layers::runs_on_onednn(x.to(at::kDouble), reflect->weight.to(at::kDouble), at::Tensor()));
  EXPECT_TRUE(test::close(reflect->forward(x), reflect->torch::nn::Conv2dImpl::forward(x), 0));
  EXPECT_TRUE(test::close(same->forward(x), same->torch::nn::Conv2dImpl::forward(x), 0));
}

TEST(ConvOnOneDnn, PrintsAsLibTorchsModule) {
  EXPECT_EQ(tasks::python_repr(*layers::Conv2d(torch::nn::Conv2dOptions(3, 64, 7).stride(2).padding(3).bias(false))),
            "Conv2d(3, 64, kernel_size=(7, 7), stride=(2, 2), padding=(3, 3), bias=False)");
  EXPECT_EQ(tasks::python_repr(*layers::Conv3d(torch::nn::Conv3dOptions(2, 4, {3, 1, 1}))),
            "Conv3d(2, 4, kernel_size=(3, 1, 1), stride=(1, 1, 1))");
}

}  // namespace
}  // namespace reskit
