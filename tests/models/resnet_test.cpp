// torchvision's ResNet family beyond parity (tests/models/parity_test.cpp):
// the command line on torchvision's weights, and torchvision's initialisation.
#include <gtest/gtest.h>
#include <torch/csrc/autograd/grad_mode.h>
#include <torch/cuda.h>

#include "reskit/io/npy.h"
#include "reskit/io/state_dict.h"
#include "reskit/models/registry.h"
#include "test_util.h"

namespace reskit {
namespace {

// torchvision's outputs for these are made by tests/reference/make_resnets.py.
std::string case_dir(const std::string& id) { return test::parity_case("resnet", id).dir(); }
constexpr double kRelTol = 1e-4;

TEST(ResNetCli, RunMatchesTorchvision) {
  const std::string dir = test::temp_dir("run_resnet50");
  auto r = test::run_reskit("run resnet50 --weights " + case_dir("resnet50") + "/weights.pth --input " +
                            case_dir("resnet50") + "/input0.npy --out " + dir);
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(test::close(io::read_npy(dir + "/out0.npy"), io::read_npy(case_dir("resnet50") + "/out0.npy"), kRelTol));
}

TEST(ResNetCli, RunOnCudaMatchesTorchvision) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device visible to this LibTorch";
  const std::string dir = test::temp_dir("run_resnet50_cuda");
  auto r = test::run_reskit("run resnet50 --device cuda --weights " + case_dir("resnet50") + "/weights.pth --input " +
                            case_dir("resnet50") + "/input0.npy --out " + dir);
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(test::close(io::read_npy(dir + "/out0.npy"), io::read_npy(case_dir("resnet50") + "/out0.npy"), kRelTol));
}

TEST(ResNetCli, FeaturesWriteFourOutputs) {
  const std::string id = "resnet18_features";
  const std::string dir = test::temp_dir("run_features");
  auto r = test::run_reskit("run resnet18 --set features=true --weights " + case_dir(id) + "/weights.pth --input " +
                       case_dir(id) + "/input0.npy --out " + dir);
  ASSERT_EQ(r.status, 0) << r.err;
  for (int k = 0; k < 4; ++k)
    EXPECT_TRUE(test::close(io::read_npy(dir + "/out" + std::to_string(k) + ".npy"),
                            io::read_npy(case_dir(id) + "/out" + std::to_string(k) + ".npy"), kRelTol));
}

TEST(ResNetInit, ZeroInitResidualZeroesLastBnOfEachBlock) {
  for (const std::string name : {"resnet18", "resnet50"}) {
    models::Model model = test::build(name, {"zero_init_residual=true"});
    int zeroed = 0;
    const std::string last_bn = name == std::string("resnet18") ? "bn2" : "bn3";
    for (const auto& [key, t] : io::state_dict_of(*model.module)) {
      if (key.find("layer") == 0 && key.find("." + last_bn + ".weight") != std::string::npos) {
        EXPECT_EQ(t.abs().sum().item<double>(), 0.0) << key;
        ++zeroed;
      }
    }
    EXPECT_EQ(zeroed, name == std::string("resnet18") ? 8 : 16) << name;
  }
}

TEST(ResNetInit, ConvWeightsFollowKaimingFanOut) {
  at::manual_seed(0);
  models::Model model = models::build_model(models::default_options("resnet50"));
  for (const auto& [key, t] : io::state_dict_of(*model.module)) {
    if (key != "layer3.0.conv2.weight") continue;
    const double fan_out = t.size(0) * t.size(2) * t.size(3);
    EXPECT_NEAR(t.std().item<double>(), std::sqrt(2.0 / fan_out), 0.05 * std::sqrt(2.0 / fan_out));
  }
}

}  // namespace
}  // namespace reskit
