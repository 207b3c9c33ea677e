// resnet3d and i3d_r50: reskit's ResNet3d and Recognizer3D against mmaction2's
// on the same seeded weights (randomised BatchNorm), eval mode; their options
// and their errors.
#include <gtest/gtest.h>
#include <torch/csrc/autograd/grad_mode.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "reskit/io/checkpoint.h"
#include "reskit/io/npy.h"
#include "reskit/models/registry.h"
#include "reskit/models/video/resnet3d.h"
#include "test_util.h"

namespace reskit {
namespace {

using test::fixture;

// The ids tests/reference/make_resnet3d.py writes.
const std::vector<std::string> kCases = {
    "resnet3d50",        "resnet3d18_two_clips", "resnet3d50_i3d", "resnet3d50_3x3x3_all_stages", "resnet3d34_no_inflate",
    "i3d_r50_two_clips", "i3d_r50_classes10_no_dropout",
};
constexpr double kRelTol = 1e-4;

nlohmann::json manifest() {
  std::ifstream in(fixture("resnet3d/manifest.json"));
  return nlohmann::json::parse(in);
}

std::string case_dir(const std::string& id) { return fixture("resnet3d/" + id); }

models::Model build_case(const nlohmann::json& c) {
  Options options = models::default_options(c["model"].get<std::string>());
  for (const auto& s : c["sets"]) options.set_from_assignment(s.get<std::string>());
  return models::build_model(options);
}

class ResNet3dParity : public ::testing::TestWithParam<std::string> {};

TEST_P(ResNet3dParity, MatchesMmaction2) {
  const nlohmann::json c = manifest()[GetParam()];
  ASSERT_FALSE(c.is_null()) << "fixture has no case " << GetParam();
  models::Model model = build_case(c);
  io::load_state_dict(*model.module, io::read_state_dict(case_dir(GetParam()) + "/weights.pth"), true, GetParam());
  model.module->eval();
  torch::NoGradGuard no_grad;
  const std::vector<at::Tensor> outputs = model.forward({io::read_npy(case_dir(GetParam()) + "/input.npy")});
  ASSERT_EQ(static_cast<int>(outputs.size()), c["outputs"].get<int>());
  for (size_t k = 0; k < outputs.size(); ++k)
    EXPECT_TRUE(test::close(outputs[k], io::read_npy(case_dir(GetParam()) + "/out" + std::to_string(k) + ".npy"),
                            kRelTol))
        << GetParam() << " output " << k;
}

TEST_P(ResNet3dParity, KeysAreMmaction2Keys) {
  models::Model model = build_case(manifest()[GetParam()]);
  std::string ours;
  for (const auto& [key, tensor] : io::state_dict_of(*model.module)) ours += key + "\n";
  EXPECT_EQ(ours, test::read_text(case_dir(GetParam()) + "/keys.txt"));
}

INSTANTIATE_TEST_SUITE_P(Mmaction2, ResNet3dParity, ::testing::ValuesIn(kCases),
                         [](const auto& info) { return info.param; });

TEST(ResNet3dFixtures, ManifestListsExactlyTheTestedCases) {
  const nlohmann::json m = manifest();  // items() must not outlive it
  std::vector<std::string> ids;
  for (const auto& item : m.items()) ids.push_back(item.key());
  std::vector<std::string> expected = kCases;
  std::sort(ids.begin(), ids.end());
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(ids, expected);
}

TEST(ResNet3dCli, RunWritesEveryRequestedStage) {
  const std::string id = "resnet3d50_3x3x3_all_stages";
  const std::string dir = test::temp_dir("run_resnet3d");
  std::string args = "run resnet3d --weights " + case_dir(id) + "/weights.pth --input " + case_dir(id) +
                     "/input.npy --out " + dir;
  const nlohmann::json c = manifest()[id];
  for (const auto& s : c["sets"]) args += " --set " + s.get<std::string>();
  auto r = test::run_reskit(args);
  ASSERT_EQ(r.status, 0) << r.err;
  for (int k = 0; k < 4; ++k)
    EXPECT_TRUE(test::close(io::read_npy(dir + "/out" + std::to_string(k) + ".npy"),
                            io::read_npy(case_dir(id) + "/out" + std::to_string(k) + ".npy"), kRelTol))
        << "stage " << k;
}

// mmaction2's init_weights: zero_init_residual (its default) zeroes the last
// norm of every residual branch, weight and bias.
TEST(ResNet3dInit, ZeroInitResidualZeroesEachBranchsLastNorm) {
  for (const auto& [depth, last] : std::vector<std::pair<std::string, std::string>>{{"18", "conv2"}, {"50", "conv3"}}) {
    Options options = models::default_options("resnet3d");
    options.set_from_assignment("depth=" + depth);
    models::Model model = models::build_model(options);
    int zeroed = 0;
    for (const auto& [key, t] : io::state_dict_of(*model.module)) {
      if (key.find("." + last + ".bn.weight") == std::string::npos && key.find("." + last + ".bn.bias") == std::string::npos)
        continue;
      EXPECT_EQ(t.abs().sum().item<double>(), 0.0) << key;
      ++zeroed;
    }
    EXPECT_EQ(zeroed, depth == "18" ? 16 : 32) << depth;
    options.set_from_assignment("zero_init_residual=false");
    model = models::build_model(options);
    for (const auto& [key, t] : io::state_dict_of(*model.module))
      if (key.find("." + last + ".bn.weight") != std::string::npos) EXPECT_EQ(t.min().item<double>(), 1.0) << key;
  }
}

TEST(ResNet3dOptions, ErrorsNameTheProblem) {
  const std::string dir = test::temp_dir("resnet3d_errors");
  const std::string io = " --input " + case_dir("resnet3d50") + "/input.npy --out " + dir;
  struct Case {
    std::string sets, message, model = "resnet3d";
  };
  const std::vector<Case> cases = {
      {"--set depth=20", "ResNet3d: invalid depth 20 for resnet"},
      {"--set inflate=1,1", "resnet3d: inflate takes 4 per-stage flags (1,1,1,1) or 4 '/'-separated groups of "
                            "per-block flags (1,1,1/1,0,1,0/1,0,1,0,1,0/0,1,0)"},
      {"--set inflate=1,1,1/1,0/1/1", "ResNet3d: inflate of stage 2 needs 1 or 4 values, got 2"},
      {"--set inflate=2,1,1,1", "resnet3d: inflate flags are 0 or 1, got 2"},
      {"--set inflate_style=3x3x1", "resnet3d: option 'inflate_style' expects one of 3x1x1|3x3x3, got '3x3x1'"},
      {"--set spatial_strides=1,2,2", "ResNet3d: spatial_strides needs 4 values, got 3"},
      {"--set out_indices=4", "ResNet3d: out_indices must lie in 0..3, got 4"},
      {"--set conv1_kernel=7,7", "ResNet3d: conv1_kernel needs 3 values (t, h, w), got 2"},
      {"--set dropout_ratio=1", "I3DHead: dropout_ratio must lie in [0, 1), got 1", "i3d_r50"},
      {"--set num_classes=0", "I3DHead: num_classes must be positive, got 0", "i3d_r50"},
  };
  for (const auto& [sets, message, model] : cases) {
    auto r = test::run_reskit("run " + model + " " + sets + io);
    EXPECT_EQ(r.status, 1) << sets;
    EXPECT_EQ(r.err, "reskit: " + message + "\n") << sets;
  }
  // An image where a clip belongs is a shape error, in one line, and no output.
  auto r = test::run_reskit("run resnet3d --input " + fixture("npy/image_input.npy") + " --out " + dir);
  EXPECT_EQ(r.status, 1);
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_EQ(r.err.rfind("reskit: resnet3d: cannot run on input ", 0), 0u) << r.err;
  EXPECT_TRUE(std::filesystem::is_empty(dir));
}

}  // namespace
}  // namespace reskit
