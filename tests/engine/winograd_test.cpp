// reskit's Winograd F(4x4, 3x3) kernels against their scalar twin
// (winograd_reference, the same transforms in plain loops) and the twin
// against LibTorch's convolution, for every ISA this machine has (down to the
// portable one), over odd map sizes, batches, paddings, dilations (the
// atrous phases) and every epilogue.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <vector>

#include "reskit/engine/kernels/winograd.h"
#include "kernel_test_util.h"
#include "test_util.h"

namespace reskit {
namespace {

using engine::kernels::Isa;
using engine::kernels::WinogradConv;
using engine::kernels::ConvEpilogue;
using engine::kernels::WinogradShape;

struct Case {
  std::string id;
  int64_t batch, in, out, height, width, pad_top, pad_left, pad_bottom, pad_right;
  bool bias, sum;
  ConvEpilogue::Activation activation;
  int64_t dilation = 1;
  std::string name() const { return id; }
};

class Winograd : public ::testing::TestWithParam<Case> {};

TEST_P(Winograd, EqualsItsTwinAndTheTwinEqualsLibTorch) {
  const Case& c = GetParam();
  torch::manual_seed(11);
  const at::Tensor x = at::randn({c.batch, c.in, c.height, c.width});
  const at::Tensor w = at::randn({c.out, c.in, 3, 3}) / std::sqrt(9.0 * static_cast<double>(c.in));
  const at::Tensor b = c.bias ? at::randn({c.out}) : at::Tensor();
  ConvEpilogue epilogue;
  epilogue.sum = c.sum;
  epilogue.activation = c.activation;
  epilogue.alpha = c.activation == ConvEpilogue::Activation::kClip ? -0.5f : 0.1f;
  epilogue.beta = 0.75f;
  const int64_t d = c.dilation;
  const int64_t oh = c.height + c.pad_top + c.pad_bottom - 2 * d, ow = c.width + c.pad_left + c.pad_right - 2 * d;
  const at::Tensor residual = c.sum ? at::randn({c.batch, c.out, oh, ow}) : at::Tensor();

  // The twin against LibTorch's convolution (then the same epilogue).
  const at::Tensor twin =
      engine::kernels::winograd_reference(x, w, b, c.pad_top, c.pad_left, c.pad_bottom, c.pad_right, residual, epilogue, d);
  at::Tensor conv =
      at::conv2d(at::constant_pad_nd(x, {c.pad_left, c.pad_right, c.pad_top, c.pad_bottom}), w, b,
                 std::vector<int64_t>{1, 1}, std::vector<int64_t>{0, 0}, std::vector<int64_t>{d, d});
  if (c.sum) conv = conv + residual;
  // Rounding scales with the values before the activation, which clip may cut far below them.
  const double before = conv.abs().max().item<double>();
  if (c.activation == ConvEpilogue::Activation::kRelu) conv = conv.clamp_min(0);
  if (c.activation == ConvEpilogue::Activation::kLeakyRelu) conv = at::where(conv > 0, conv, conv * 0.1);
  if (c.activation == ConvEpilogue::Activation::kClip) conv = conv.clamp(-0.5, 0.75);
  ASSERT_EQ(twin.sizes(), conv.sizes());
  const double scale = before / conv.abs().max().item<double>();
  EXPECT_TRUE(test::close(twin, conv, 1e-5 * scale)) << "twin vs LibTorch";

  for (const Isa isa : test::kernel_isas()) {
    WinogradShape shape;
    shape.batch = c.batch;
    shape.in_channels = c.in;
    shape.out_channels = c.out;
    shape.height = c.height;
    shape.width = c.width;
    shape.out_height = oh;
    shape.out_width = ow;
    shape.pad_top = c.pad_top;
    shape.pad_left = c.pad_left;
    shape.dilation_h = shape.dilation_w = d;
    ASSERT_TRUE(WinogradConv::supports(shape, isa)) << engine::kernels::isa_name(isa);
    const WinogradConv kernel(shape, w, b, epilogue, isa);
    const int64_t lanes = kernel.lanes();
    const at::Tensor src = test::blocked(x, lanes);
    at::Tensor dst = c.sum ? test::blocked(residual, lanes) : at::full({c.batch, c.out / lanes, oh, ow, lanes}, NAN);
    const int threads = at::get_num_threads();
    std::vector<std::byte> scratch(kernel.scratch_bytes(threads) + 64);
    std::byte* aligned = scratch.data() + (64 - reinterpret_cast<uintptr_t>(scratch.data()) % 64) % 64;
    kernel.run(src.data_ptr<float>(), dst.data_ptr<float>(), aligned);
    // Float rounding in other orders (the transforms' sums, the GEMM's) only.
    EXPECT_TRUE(test::close(test::dense(dst), twin, 1e-5 * scale)) << engine::kernels::isa_name(isa) << " vs twin";
    EXPECT_TRUE(test::close(test::dense(dst), conv, 2e-5 * scale)) << engine::kernels::isa_name(isa) << " vs LibTorch";
  }
}

using A = ConvEpilogue::Activation;
INSTANTIATE_TEST_SUITE_P(
    Shapes, Winograd,
    ::testing::Values(Case{"odd_map_relu", 1, 16, 64, 13, 11, 1, 1, 1, 1, true, false, A::kRelu},
                      Case{"batch2_sum_relu", 2, 32, 128, 28, 28, 1, 1, 1, 1, false, true, A::kRelu},
                      Case{"small_map_many_channels", 1, 64, 192, 7, 7, 1, 1, 1, 1, true, true, A::kNone},
                      Case{"no_padding_leaky", 1, 16, 64, 10, 9, 0, 0, 0, 0, true, false, A::kLeakyRelu},
                      Case{"pad2_clip", 3, 48, 64, 5, 6, 2, 2, 2, 2, false, false, A::kClip},
                      Case{"uneven_padding", 1, 32, 64, 9, 12, 1, 0, 2, 1, true, true, A::kRelu},
                      Case{"one_tile", 1, 16, 64, 3, 3, 1, 1, 1, 1, true, false, A::kNone},
                      Case{"resnet_56", 1, 64, 64, 56, 56, 1, 1, 1, 1, true, false, A::kRelu},
                      // Atrous: phases of unequal sizes, some with tiles wholly outside the output.
                      Case{"dilated2_odd_map_sum", 2, 32, 64, 15, 13, 2, 2, 2, 2, true, true, A::kRelu, 2},
                      Case{"dilated4_pad4", 1, 16, 32, 31, 29, 4, 4, 4, 4, false, false, A::kNone, 4},
                      Case{"dilated3_uneven_padding", 1, 16, 64, 11, 17, 3, 1, 0, 6, true, false, A::kLeakyRelu, 3},
                      Case{"dilated2_tiny_map", 1, 16, 32, 4, 5, 2, 2, 2, 2, true, false, A::kClip, 2},
                      // Weights past L2: blocks of more tiles (two of 56 here, one of 24 at dilation 2).
                      Case{"large_weights_big_blocks", 1, 48, 192, 40, 44, 1, 1, 1, 1, true, true, A::kRelu},
                      Case{"large_weights_dilated2", 1, 48, 192, 21, 23, 2, 2, 2, 2, false, false, A::kRelu, 2}),
    test::CaseName());

}  // namespace
}  // namespace reskit
