// Behaviour of the pyramid pooling layers beyond parity (which
// tests/reference/make_pyramid.py covers module by module).
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "reskit/core/error.h"
#include "reskit/layers/pyramid_pooling.h"
#include "reskit/layers/rfb.h"
#include "reskit/layers/spatial_pyramid_pool.h"
#include "test_util.h"

namespace reskit {
namespace {

// SPPF's three 5x5 pools in a row see what SPP's 5, 9 and 13 see at once.
TEST(PyramidPooling, SppfEqualsSppOnTheSameWeights) {
  torch::manual_seed(0);
  layers::SPPF fast(32, 24, 5, 1e-5);
  layers::YoloSPP spp(32, 24, std::vector<int64_t>{5, 9, 13}, 1e-5);
  torch::NoGradGuard no_grad;
  // The two share their parameter names (cv1.*, cv2.*; the pools have none).
  auto from = fast->named_parameters();
  for (auto& p : spp->named_parameters()) p.value().copy_(from[p.key()]);
  auto from_buffers = fast->named_buffers();
  for (auto& b : spp->named_buffers()) b.value().copy_(from_buffers[b.key()]);
  fast->eval();
  spp->eval();
  const at::Tensor x = torch::randn({2, 32, 17, 23});
  EXPECT_TRUE(test::close(fast->forward(x), spp->forward(x), 1e-6));
}

TEST(PyramidPooling, KernelsMustBeOddAndSppcspcTakesThree) {
  EXPECT_THROW(layers::SPPF(32, 24, 4, 1e-5), Error);
  EXPECT_THROW(layers::YoloSPP(32, 24, std::vector<int64_t>{5, 8}, 1e-5), Error);
  EXPECT_THROW(layers::SPPCSPC(32, 24, 0.5, std::vector<int64_t>{5, 9}, 1e-5), Error);
  EXPECT_THROW(layers::SPPF(1, 24, 5, 1e-5), Error);  // no hidden channels left
  EXPECT_NO_THROW(layers::SPPCSPC(32, 24, 0.5, std::vector<int64_t>{3, 5, 7}, 1e-5));
}

TEST(SpatialPyramidPool, AnySizeGivesOneLength) {
  for (auto hw : std::vector<std::pair<int64_t, int64_t>>{{13, 13}, {10, 27}, {29, 16}, {64, 64}}) {
    const at::Tensor out = layers::spatial_pyramid_pool(torch::randn({3, 8, hw.first, hw.second}), {4, 2, 1});
    EXPECT_EQ(out.sizes(), (at::IntArrayRef{3, 8 * 21})) << hw.first << "x" << hw.second;
  }
  // Each level is the max over its cell: the last level is the global max.
  const at::Tensor x = torch::randn({1, 2, 7, 9});
  EXPECT_TRUE(at::equal(layers::spatial_pyramid_pool(x, {1}), x.amax({2, 3})));
}

TEST(SpatialPyramidPool, TooSmallForALevelIsAClearError) {
  try {
    layers::spatial_pyramid_pool(torch::randn({1, 2, 5, 5}), {4, 2, 1});
    FAIL() << "a 5x5 input took level 4";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("too small for level 4"), std::string::npos) << e.what();
  }
}

TEST(Rfb, BasicRfbAOnlyTakesStrideOne) {
  EXPECT_THROW(layers::BasicRFBA(layers::BasicRFBAOptions().in_planes(64).stride(2)), Error);
  EXPECT_THROW(layers::BasicRFB(layers::BasicRFBOptions().in_planes(8)), Error);
  const at::Tensor out = layers::BasicRFB(layers::BasicRFBOptions().in_planes(32).out_planes(16).stride(2))
                             ->forward(torch::randn({1, 32, 15, 15}));
  EXPECT_EQ(out.sizes(), (at::IntArrayRef{1, 16, 8, 8}));
}

}  // namespace
}  // namespace reskit
