// torchvision ResNet family: reskit's modules against torchvision's outputs
// on the same seeded weights (randomised BatchNorm), eval mode.
#include <gtest/gtest.h>
#include <torch/csrc/autograd/grad_mode.h>
#include <torch/cuda.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "reskit/io/checkpoint.h"
#include "reskit/io/npy.h"
#include "reskit/models/registry.h"
#include "reskit/tasks/model_setup.h"
#include "test_util.h"

namespace reskit {
namespace {

using test::fixture;

// The ids tests/reference/make_resnets.py writes.
const std::vector<std::string> kCases = {
    "resnet18", "resnet34", "resnet50", "resnet101", "resnet152", "resnext50_32x4d", "resnext101_32x8d",
    "resnext101_64x4d", "wide_resnet50_2", "wide_resnet101_2", "resnet50_dilate_011", "resnet50_classes10_g2w32",
    "resnet18_features", "resnet50_features_dilate_001",
};
constexpr double kRelTol = 1e-4;

nlohmann::json manifest() {
  std::ifstream in(fixture("resnet/manifest.json"));
  return nlohmann::json::parse(in);
}

std::string case_dir(const std::string& id) { return fixture("resnet/" + id); }

models::Model build_case(const nlohmann::json& c) {
  Options options = models::default_options(c["model"].get<std::string>());
  for (const auto& s : c["sets"]) options.set_from_assignment(s.get<std::string>());
  return models::build_model(options);
}

class ResNetParity : public ::testing::TestWithParam<std::string> {};

void expect_parity(const std::string& id, const std::string& weights_file, c10::Device device = c10::kCPU) {
  const nlohmann::json c = manifest()["cases"][id];
  ASSERT_FALSE(c.is_null()) << "fixture has no case " << id;
  models::Model model = build_case(c);
  io::load_state_dict(*model.module, io::read_state_dict(case_dir(id) + "/" + weights_file), true, weights_file);
  model.module->to(device);
  model.module->eval();
  torch::NoGradGuard no_grad;
  std::vector<at::Tensor> outputs = model.forward({io::read_npy(case_dir(id) + "/input.npy").to(device)});
  ASSERT_EQ(static_cast<int>(outputs.size()), c["outputs"].get<int>());
  for (size_t k = 0; k < outputs.size(); ++k)
    EXPECT_TRUE(test::close(outputs[k], io::read_npy(case_dir(id) + "/out" + std::to_string(k) + ".npy"), kRelTol))
        << id << " output " << k;
}

TEST_P(ResNetParity, MatchesTorchvision) { expect_parity(GetParam(), "weights.pth"); }

// Built against a LibTorch with CUDA on a machine with a GPU, the same cases
// run there against the same CPU-made reference.
TEST_P(ResNetParity, MatchesTorchvisionOnCuda) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device visible to this LibTorch";
  expect_parity(GetParam(), "weights.pth", tasks::select_device("cuda"));
}

class ResNetLegacyParity : public ::testing::TestWithParam<std::string> {};

TEST_P(ResNetLegacyParity, LegacyCheckpointMatchesTorchvision) {
  ASSERT_TRUE(manifest()["cases"][GetParam()]["legacy"].get<bool>());
  expect_parity(GetParam(), "weights_legacy.pth");
}

TEST_P(ResNetParity, KeysAreTorchvisionKeys) {
  const nlohmann::json c = manifest()["cases"][GetParam()];
  models::Model model = build_case(c);
  std::string ours;
  for (const auto& [key, tensor] : io::state_dict_of(*model.module)) ours += key + "\n";
  EXPECT_EQ(ours, test::read_text(case_dir(GetParam()) + "/keys.txt"));
}

INSTANTIATE_TEST_SUITE_P(Torchvision, ResNetParity, ::testing::ValuesIn(kCases),
                         [](const auto& info) { return info.param; });
// The cases the fixture also saves with _use_new_zipfile_serialization=False.
INSTANTIATE_TEST_SUITE_P(Torchvision, ResNetLegacyParity,
                         ::testing::Values("resnet18", "resnet50", "resnext50_32x4d", "wide_resnet50_2"),
                         [](const auto& info) { return info.param; });

TEST(ResNetFixtures, ManifestListsExactlyTheTestedCases) {
  const nlohmann::json m = manifest();
  std::vector<std::string> ids;
  for (const auto& item : m["cases"].items()) ids.push_back(item.key());
  std::vector<std::string> expected = kCases;
  std::sort(ids.begin(), ids.end());
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(ids, expected);
}

TEST(ResNetCli, RunMatchesTorchvision) {
  const std::string dir = test::temp_dir("run_resnet50");
  auto r = test::run_reskit("run resnet50 --weights " + case_dir("resnet50") + "/weights.pth --input " +
                            case_dir("resnet50") + "/input.npy --out " + dir);
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(test::close(io::read_npy(dir + "/out0.npy"), io::read_npy(case_dir("resnet50") + "/out0.npy"), kRelTol));
}

TEST(ResNetCli, RunOnCudaMatchesTorchvision) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device visible to this LibTorch";
  const std::string dir = test::temp_dir("run_resnet50_cuda");
  auto r = test::run_reskit("run resnet50 --device cuda --weights " + case_dir("resnet50") + "/weights.pth --input " +
                            case_dir("resnet50") + "/input.npy --out " + dir);
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(test::close(io::read_npy(dir + "/out0.npy"), io::read_npy(case_dir("resnet50") + "/out0.npy"), kRelTol));
}

TEST(ResNetCli, FeaturesWriteFourOutputs) {
  const std::string id = "resnet18_features";
  const std::string dir = test::temp_dir("run_features");
  auto r = test::run_reskit("run resnet18 --set features=true --weights " + case_dir(id) + "/weights.pth --input " +
                       case_dir(id) + "/input.npy --out " + dir);
  ASSERT_EQ(r.status, 0) << r.err;
  for (int k = 0; k < 4; ++k)
    EXPECT_TRUE(test::close(io::read_npy(dir + "/out" + std::to_string(k) + ".npy"),
                            io::read_npy(case_dir(id) + "/out" + std::to_string(k) + ".npy"), kRelTol));
}

TEST(ResNetInit, ZeroInitResidualZeroesLastBnOfEachBlock) {
  for (const std::string name : {"resnet18", "resnet50"}) {
    Options options = models::default_options(name);
    options.set_from_assignment("zero_init_residual=true");
    models::Model model = models::build_model(options);
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
