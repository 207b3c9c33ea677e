// layers::Encoding against seeds/004's Encoding and mmsegmentation's
// (tests/reference/make_encnet.py, encnet/encoding/): the output and the
// gradients of the input, the codewords and the scale for a random upstream
// gradient. In float64 our op must equal PyTorch autograd's to rounding; in
// float32 it may miss float64 by a few times what the reference's own
// float32 misses by.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "reskit/io/npy.h"
#include "reskit/layers/encoding.h"
#include "test_util.h"

namespace reskit {
namespace {

const char* const kTensors[] = {"out", "grad_x", "grad_codewords", "grad_scale"};

struct Results {
  std::map<std::string, at::Tensor> by_name;
};

Results run_layer(const std::string& dir, at::ScalarType dtype) {
  const at::Tensor x = io::read_npy(dir + "/x.npy").to(dtype).requires_grad_(true);
  const at::Tensor codewords = io::read_npy(dir + "/codewords.npy").to(dtype);
  const at::Tensor scale = io::read_npy(dir + "/scale.npy").to(dtype);
  layers::Encoding layer(x.size(1), codewords.size(0));
  layer->to(dtype);
  {
    at::NoGradGuard no_grad;
    layer->codewords.copy_(codewords);
    layer->scale.copy_(scale);
  }
  const at::Tensor out = layer->forward(x);
  out.backward(io::read_npy(dir + "/grad_out.npy").to(dtype));
  return {{{"out", out.detach()},
           {"grad_x", x.grad()},
           {"grad_codewords", layer->codewords.grad()},
           {"grad_scale", layer->scale.grad()}}};
}

double max_abs_diff(const at::Tensor& a, const at::Tensor& b) {
  return (a.to(at::kDouble) - b.to(at::kDouble)).abs().max().item<double>();
}

class EncodingLayer : public ::testing::TestWithParam<std::string> {};

TEST_P(EncodingLayer, MatchesAutogradOfTheReferences) {
  const nlohmann::json cases = test::read_json(test::fixture("encnet/encoding/cases.json"));
  nlohmann::json c;
  for (const auto& entry : cases["cases"])
    if (entry["name"] == GetParam()) c = entry;
  ASSERT_FALSE(c.is_null()) << GetParam() << " is not in cases.json";
  const std::string dir = test::fixture("encnet/encoding/" + GetParam());

  const Results f64 = run_layer(dir, at::kDouble);
  const Results f32 = run_layer(dir, at::kFloat);
  for (const char* key : kTensors) {
    const at::Tensor expected = io::read_npy(dir + "/" + key + ".npy", /*keep_float64=*/true);
    const double scale = std::max(c["max_abs"][key].get<double>(), 1e-30);
    // float64: the same sums in another order.
    EXPECT_LE(max_abs_diff(f64.by_name.at(key), expected), 1e-11 * scale) << key << " (float64)";
    EXPECT_LE(max_abs_diff(f64.by_name.at(key), io::read_npy(dir + "/mmseg_" + key + ".npy", true)), 1e-11 * scale)
        << key << " (float64, against mmsegmentation)";
    // float32: within a few times the reference's own float32 error.
    const double limit = 4 * c["f32_error"][key].get<double>() + 1e-6 * scale;
    EXPECT_LE(max_abs_diff(f32.by_name.at(key), expected), limit) << key << " (float32)";
  }
  if (c["num_codes"].get<int64_t>() == 1) EXPECT_EQ(f32.by_name.at("grad_scale").abs().max().item<double>(), 0.0);
}

INSTANTIATE_TEST_SUITE_P(Cases, EncodingLayer,
                         ::testing::Values("c512_k32_28x28", "c16_k8_5x5", "c5_k3_3x7", "c64_k16_7x9_peaky",
                                           "c8_k1_4x4", "c3_k5_1x1"));

// A large L takes the op through several chunks of descriptors: the result
// must not depend on where the chunks fall (float64 against autograd of the
// plain formula).
TEST(EncodingLayer, ChunkedEqualsTheFormula) {
  torch::manual_seed(3);
  const int64_t n = 2, c = 6, k = 4, l = 2500;
  const at::Tensor x = torch::randn({n, l, c}, torch::kDouble).requires_grad_(true);
  const at::Tensor codewords = torch::randn({k, c}, torch::kDouble).requires_grad_(true);
  const at::Tensor scale = torch::rand({k}, torch::kDouble).neg().requires_grad_(true);
  const at::Tensor grad = torch::randn({n, k, c}, torch::kDouble);
  const at::Tensor ours = layers::encoding(x, codewords, scale);
  const auto g = torch::autograd::grad({ours}, {x, codewords, scale}, {grad});

  const at::Tensor residual = x.unsqueeze(2) - codewords.view({1, 1, k, c});     // N x L x K x C
  const at::Tensor weights = torch::softmax(scale * residual.pow(2).sum(3), 2);  // N x L x K
  const at::Tensor plain = (weights.unsqueeze(3) * residual).sum(1);
  const auto h = torch::autograd::grad({plain}, {x, codewords, scale}, {grad});
  EXPECT_TRUE(test::close(ours, plain, 1e-12));
  for (size_t i = 0; i < g.size(); ++i) EXPECT_TRUE(test::close(g[i], h[i], 1e-11)) << "gradient " << i;
}

}  // namespace
}  // namespace reskit
