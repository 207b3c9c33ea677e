// reskit's direct convolution for small maps against LibTorch's convolution,
// for every ISA this machine has (down to the portable one): 1x1 layers that
// read the source as it is, strided, padded and dilated ones that gather it,
// odd maps and channel counts, pixel groups of every length, batches and
// every epilogue.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <vector>

#include "reskit/engine/kernels/direct_conv.h"
#include "kernel_test_util.h"
#include "test_util.h"

namespace reskit {
namespace {

using engine::kernels::ConvEpilogue;
using engine::kernels::DirectConv;
using engine::kernels::DirectShape;
using engine::kernels::Isa;

struct Case {
  std::string id;
  int64_t batch, in, out, height, width, kernel, stride, pad, dilation;
  bool bias, sum;
  ConvEpilogue::Activation activation;
  std::string name() const { return id; }
};

class Direct : public ::testing::TestWithParam<Case> {};

TEST_P(Direct, EqualsLibTorch) {
  const Case& c = GetParam();
  torch::manual_seed(5);
  const at::Tensor x = at::randn({c.batch, c.in, c.height, c.width});
  const at::Tensor w = at::randn({c.out, c.in, c.kernel, c.kernel}) / std::sqrt(static_cast<double>(c.in * c.kernel * c.kernel));
  const at::Tensor b = c.bias ? at::randn({c.out}) : at::Tensor();
  ConvEpilogue epilogue;
  epilogue.sum = c.sum;
  epilogue.activation = c.activation;
  epilogue.alpha = c.activation == ConvEpilogue::Activation::kClip ? -0.5f : 0.1f;
  epilogue.beta = 0.75f;
  at::Tensor conv = at::conv2d(x, w, b, c.stride, c.pad, c.dilation);
  const int64_t oh = conv.size(2), ow = conv.size(3);
  const at::Tensor residual = c.sum ? at::randn_like(conv) : at::Tensor();
  if (c.sum) conv = conv + residual;
  // Rounding scales with the values before the activation, which clip may cut far below them.
  const double before = conv.abs().max().item<double>();
  if (c.activation == ConvEpilogue::Activation::kRelu) conv = conv.clamp_min(0);
  if (c.activation == ConvEpilogue::Activation::kLeakyRelu) conv = at::where(conv > 0, conv, conv * 0.1);
  if (c.activation == ConvEpilogue::Activation::kClip) conv = conv.clamp(-0.5, 0.75);
  const double scale = before / conv.abs().max().item<double>();

  for (const Isa isa : test::kernel_isas()) {
    DirectShape shape;
    shape.batch = c.batch;
    shape.in_channels = c.in;
    shape.out_channels = c.out;
    shape.height = c.height;
    shape.width = c.width;
    shape.out_height = oh;
    shape.out_width = ow;
    shape.kernel_h = shape.kernel_w = c.kernel;
    shape.stride_h = shape.stride_w = c.stride;
    shape.dilation_h = shape.dilation_w = c.dilation;
    shape.pad_top = shape.pad_left = c.pad;
    ASSERT_TRUE(DirectConv::supports(shape, isa)) << engine::kernels::isa_name(isa);
    const DirectConv kernel(shape, w, b, epilogue, isa);
    const int64_t lanes = engine::kernels::isa_lanes(isa);
    const at::Tensor src = test::blocked(x, lanes);
    at::Tensor dst = c.sum ? test::blocked(residual, lanes) : at::full({c.batch, c.out / lanes, oh, ow, lanes}, NAN);
    std::vector<std::byte> scratch(kernel.scratch_bytes(at::get_num_threads()) + 64);
    std::byte* aligned = scratch.data() + (64 - reinterpret_cast<uintptr_t>(scratch.data()) % 64) % 64;
    kernel.run(src.data_ptr<float>(), dst.data_ptr<float>(), aligned);
    EXPECT_TRUE(test::close(test::dense(dst), conv, 1e-5 * scale)) << engine::kernels::isa_name(isa);
  }
}

using A = ConvEpilogue::Activation;
INSTANTIATE_TEST_SUITE_P(
    Shapes, Direct,
    ::testing::Values(Case{"resnet_7x7_3x3", 1, 64, 64, 7, 7, 3, 1, 1, 1, true, false, A::kRelu},
                      Case{"resnet_7x7_1x1_sum", 1, 64, 128, 7, 7, 1, 1, 0, 1, true, true, A::kRelu},
                      Case{"downsample_1x1_stride2", 2, 32, 64, 14, 14, 1, 2, 0, 1, true, false, A::kNone},
                      Case{"resnet_14x14_batch2", 2, 32, 64, 14, 14, 3, 1, 1, 1, false, true, A::kRelu},
                      Case{"odd_map_leaky", 1, 16, 32, 5, 9, 3, 1, 1, 1, true, false, A::kLeakyRelu},
                      Case{"dilated2_clip", 1, 16, 32, 9, 8, 3, 1, 2, 2, false, false, A::kClip},
                      Case{"stride2_3x3_no_padding", 3, 16, 32, 11, 10, 3, 2, 0, 1, true, true, A::kNone},
                      Case{"one_pixel", 1, 32, 32, 1, 1, 1, 1, 0, 1, true, false, A::kRelu},
                      Case{"kernel5_pad2", 1, 16, 32, 6, 7, 5, 1, 2, 1, true, false, A::kRelu},
                      Case{"map_16x16", 1, 16, 32, 16, 16, 3, 1, 1, 1, true, false, A::kRelu}),
    test::CaseName());

}  // namespace
}  // namespace reskit
