// int8 plans (post-training static quantisation) against a fake-quantised
// reference written here from the scheme's definition: each convolution's
// source rounded to u8 (a ReLU's output) or s8 codes with the scale its
// calibration range gives, the weights to s8 per output channel, the rest
// in float64. The plan must equal it up to float32 rounding, and differ
// from the f32 result by no more than quantisation can.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "reskit/engine/plan.h"
#include "conv_block.h"
#include "test_util.h"

namespace reskit {
namespace {

// The block's source is signed (the input); the stem's ReLU output is
// unsigned, written as codes by its producer and read by two convolutions.
struct QuantBlock : test::ConvBlock {
  QuantBlock() : test::ConvBlock(5, 12, 16) {}
};

// x as the int8 kernel reads it, back in float64: round(x * scale) in
// float32 (as the quantising reorder computes it), saturated, over scale.
// u8 sources take 255 levels with VNNI, 127 without (16-bit pair sums),
// saturated there at 127 too.
at::Tensor fake_quant_source(const at::Tensor& x, float max_abs, bool non_negative, bool vnni) {
  const float scale = (non_negative && vnni ? 255.f : 127.f) / max_abs;
  const at::Tensor codes = (x * scale).round().clamp(non_negative ? 0 : -128, non_negative && vnni ? 255 : 127);
  return codes.to(at::kDouble) / static_cast<double>(scale);
}

// Per output channel at 127 levels; 63 for the convolutions of signed
// sources where oneDNN's kernel lacks VNNI (it halves those weights).
at::Tensor fake_quant_weight(const at::Tensor& w, double levels) {
  const at::Tensor wd = w.to(at::kDouble);
  const at::Tensor scale = levels / wd.abs().amax({1, 2, 3}, true);
  return (wd * scale).round().clamp(-127, 127) / scale;
}

at::Tensor quant_conv(const layers::Conv2d& conv, const at::Tensor& x, float max_abs, bool non_negative,
                      int64_t stride, int64_t padding, bool vnni) {
  const at::Tensor bias = conv->bias.defined() ? conv->bias.to(at::kDouble) : at::Tensor();
  return at::conv2d(fake_quant_source(x, max_abs, non_negative, vnni),
                    fake_quant_weight(conv->weight, non_negative || vnni ? 127 : 63), bias, stride,
                    padding);
}

float max_abs_over(const std::vector<at::Tensor>& xs) {
  float m = 0;
  for (const at::Tensor& x : xs) m = std::max(m, x.abs().max().item<float>());
  return m;
}

TEST(EngineInt8, ConvolutionsEqualTheFakeQuantisedReference) {
  torch::manual_seed(11);
  auto block = std::make_shared<QuantBlock>();
  block->eval();
  const engine::TensorFunction forward = [&](const std::vector<at::Tensor>& in) {
    return std::vector<at::Tensor>{block->forward(in[0])};
  };
  torch::NoGradGuard no_grad;
  engine::CompileOptions options;
  options.precision = engine::Precision::kInt8;
  std::vector<at::Tensor> calib_x, calib_y;
  for (int i = 0; i < 3; ++i) {
    calib_x.push_back(torch::randn({2, 5, 13, 11}));
    calib_y.push_back(torch::relu(block->stem->forward(calib_x.back())));
    options.calibration.push_back({calib_x.back()});
  }
  const engine::Plan plan = engine::compile(*block, forward, {calib_x[0]}, options);
  const std::string steps = plan.steps_text();
  size_t int8_convs = 0;
  for (size_t at = steps.find("onednn int8 "); at != std::string::npos; at = steps.find("onednn int8 ", at + 1))
    ++int8_convs;
  ASSERT_EQ(int8_convs, 3u) << steps;
  // The stem writes the codes its two readers take: the input is the one
  // tensor quantised by a reorder.
  EXPECT_EQ(steps.find("quantize "), steps.rfind("quantize ")) << steps;
  const bool vnni = steps.find("vnni") != std::string::npos || steps.find("amx") != std::string::npos;

  // Inputs within the calibration's range and twice beyond it (the
  // ReLU's output then exceeds its range by ~40%): both saturate alike.
  const float x_max = max_abs_over(calib_x), y_max = max_abs_over(calib_y);
  const auto reference = [&](const at::Tensor& x) {
    const at::Tensor y = quant_conv(block->stem, x, x_max, false, 1, 1, vnni).relu().to(at::kFloat);
    return (quant_conv(block->conv, y, y_max, true, 2, 1, vnni) + quant_conv(block->shortcut, y, y_max, true, 2, 0, vnni))
        .relu()
        .to(at::kFloat);
  };
  const at::Tensor x = torch::randn({2, 5, 13, 11}), beyond = x * 2.0;
  const at::Tensor got = plan.run({x})[0];
  EXPECT_TRUE(test::close(got, reference(x), 1e-5));
  EXPECT_TRUE(test::close(plan.run({beyond})[0], reference(beyond), 1e-5));

  // And quantisation changed the result, by what 8 bits allow.
  const at::Tensor exact = forward({x})[0];
  const double error = (got - exact).abs().max().item<double>() / exact.abs().max().item<double>();
  EXPECT_GT(error, 1e-5);
  EXPECT_LT(error, 0.05);
}

TEST(EngineInt8, RefusesWithoutACalibrationSet) {
  auto block = std::make_shared<QuantBlock>();
  const engine::TensorFunction forward = [&](const std::vector<at::Tensor>& in) {
    return std::vector<at::Tensor>{block->forward(in[0])};
  };
  engine::CompileOptions options;
  options.precision = engine::Precision::kInt8;
  EXPECT_THROW(engine::compile(*block, forward, {torch::randn({1, 5, 8, 8})}, options), Error);
}

}  // namespace
}  // namespace reskit
