// bf16 plans against a reference written here from the scheme's definition:
// each convolution's source and weights rounded to bfloat16 (round to
// nearest even, as LibTorch and oneDNN's reorders round), the arithmetic,
// bias, residual sum and activations in float64. The plan must equal it up
// to float32 rounding, and differ from the f32 result by no more than bf16
// rounding can. Where the CPU has no bf16 convolutions, a plan is refused
// in one line (ctest runs this again under ONEDNN_MAX_CPU_ISA=AVX2).
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cstdlib>

#include "reskit/core/cpu_features.h"
#include "reskit/engine/plan.h"
#include "conv_block.h"
#include "test_util.h"

namespace reskit {
namespace {

struct Block : test::ConvBlock {
  Block() : test::ConvBlock(5, 16, 32) {}
};

at::Tensor as_bf16(const at::Tensor& x) { return x.to(at::kBFloat16).to(at::kDouble); }

at::Tensor bf16_conv(const layers::Conv2d& conv, const at::Tensor& x, int64_t stride, int64_t padding) {
  const at::Tensor bias = conv->bias.defined() ? conv->bias.to(at::kDouble) : at::Tensor();
  return at::conv2d(as_bf16(x), as_bf16(conv->weight), bias, stride, padding);
}

engine::Plan compile_bf16(Block& block, const at::Tensor& example) {
  const engine::TensorFunction forward = [&](const std::vector<at::Tensor>& in) {
    return std::vector<at::Tensor>{block.forward(in[0])};
  };
  engine::CompileOptions options;
  options.precision = engine::Precision::kBFloat16;
  return engine::compile(block, forward, {example}, options);
}

TEST(EngineBf16, ConvolutionsEqualTheRoundedReference) {
  torch::manual_seed(12);
  auto block = std::make_shared<Block>();
  block->eval();
  torch::NoGradGuard no_grad;
  const at::Tensor x = torch::randn({2, 5, 13, 11});
  // oneDNN has bf16 convolutions wherever it runs AVX-512: such a machine, uncapped, must take this path.
  const CpuFeatures& cpu = cpu_features();
  if (cpu.avx512f && cpu.avx512bw && cpu.avx512vl && !std::getenv("ONEDNN_MAX_CPU_ISA"))
    ASSERT_TRUE(engine::bf16_supported());
  if (!engine::bf16_supported()) {
    EXPECT_EQ(test::error_of([&] { compile_bf16(*block, x); }),
              "engine: bf16 plans need a CPU with AVX-512 (oneDNN's bf16 convolutions; fast with AVX512_BF16 or AMX)");
    return;
  }
  const engine::Plan plan = compile_bf16(*block, x);
  const std::string steps = plan.steps_text();
  size_t bf16_convs = 0;
  for (size_t at = steps.find("onednn bf16 "); at != std::string::npos; at = steps.find("onednn bf16 ", at + 1))
    ++bf16_convs;
  ASSERT_EQ(bf16_convs, 3u) << steps;

  const at::Tensor y = bf16_conv(block->stem, x, 1, 1).relu().to(at::kFloat);
  const at::Tensor reference = (bf16_conv(block->conv, y, 2, 1) + bf16_conv(block->shortcut, y, 2, 0)).relu();
  const at::Tensor got = plan.run({x})[0];
  EXPECT_TRUE(test::close(got, reference.to(at::kFloat), 1e-5));

  // And rounding changed the result, by what 8 bits of mantissa allow.
  const at::Tensor exact = block->forward(x);
  const double error = (got - exact).abs().max().item<double>() / exact.abs().max().item<double>();
  EXPECT_GT(error, 1e-5);
  EXPECT_LT(error, 0.03);
}

}  // namespace
}  // namespace reskit
