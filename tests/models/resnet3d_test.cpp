// resnet3d and i3d_r50 beyond parity (tests/models/parity_test.cpp): the
// command line, mmaction2's initialisation, the options and their errors.
#include <gtest/gtest.h>
#include <torch/csrc/autograd/grad_mode.h>

#include <filesystem>

#include "reskit/io/npy.h"
#include "reskit/io/state_dict.h"
#include "reskit/models/registry.h"
#include "test_util.h"

namespace reskit {
namespace {

using test::fixture;

// mmaction2's outputs for these are made by tests/reference/make_resnet3d.py.
std::string case_dir(const std::string& id) { return test::parity_case("resnet3d", id).dir(); }
constexpr double kRelTol = 1e-4;

TEST(ResNet3dCli, RunWritesEveryRequestedStage) {
  const std::string id = "resnet3d50_3x3x3_all_stages";
  const std::string dir = test::temp_dir("run_resnet3d");
  std::string args = "run resnet3d --weights " + case_dir(id) + "/weights.pth --input " + case_dir(id) +
                     "/input0.npy --out " + dir;
  for (const std::string& s : test::parity_case("resnet3d", id).sets) args += " --set " + s;
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
    models::Model model = test::build("resnet3d", {"depth=" + depth});
    int zeroed = 0;
    for (const auto& [key, t] : io::state_dict_of(*model.module)) {
      if (key.find("." + last + ".bn.weight") == std::string::npos && key.find("." + last + ".bn.bias") == std::string::npos)
        continue;
      EXPECT_EQ(t.abs().sum().item<double>(), 0.0) << key;
      ++zeroed;
    }
    EXPECT_EQ(zeroed, depth == "18" ? 16 : 32) << depth;
    model = test::build("resnet3d", {"depth=" + depth, "zero_init_residual=false"});
    for (const auto& [key, t] : io::state_dict_of(*model.module))
      if (key.find("." + last + ".bn.weight") != std::string::npos) EXPECT_EQ(t.min().item<double>(), 1.0) << key;
  }
}

// i3d_r50's backbone is a preset of resnet3d's options, set under `backbone.`
// (mmaction2's config key); the head follows the backbone's width.
TEST(ResNet3dOptions, I3dBackboneOptionsAreResNet3dsUnderBackbone) {
  const std::vector<OptionSpec> resnet3d = models::find_model("resnet3d").options;
  std::vector<std::string> nested;
  for (const OptionSpec& s : models::find_model("i3d_r50").options)
    if (s.name.rfind("backbone.", 0) == 0) nested.push_back(s.name.substr(9));
  ASSERT_EQ(nested.size(), resnet3d.size());
  for (size_t i = 0; i < nested.size(); ++i) EXPECT_EQ(nested[i], resnet3d[i].name);
  const models::Model i3d18 = test::build("i3d_r50", {"backbone.depth=18", "backbone.inflate=1"});
  for (const auto& [key, t] : io::state_dict_of(*i3d18.module))
    if (key == "cls_head.fc_cls.weight") EXPECT_EQ(t.sizes().vec(), (std::vector<int64_t>{400, 512}));
}

TEST(ResNet3dOptions, ErrorsNameTheProblem) {
  const std::string dir = test::temp_dir("resnet3d_errors");
  const std::string io = " --input " + case_dir("resnet3d50") + "/input0.npy --out " + dir;
  struct Case {
    std::string sets, message, model = "resnet3d";
  };
  const std::vector<Case> cases = {
      {"--set depth=20", "ResNet3d: invalid depth 20 for resnet"},
      {"--set inflate=1,1", "ResNet3d: inflate takes a flag per stage (1,1,1,1) or a '/'-separated group of per-block "
                            "flags per stage (1,1,1/1,0,1,0/1,0,1,0,1,0/0,1,0), for 4 stages"},
      {"--set inflate=1,1,1/1,0/1/1", "ResNet3d: inflate of stage 2 needs 1 or 4 values, got 2"},
      {"--set inflate=2,1,1,1", "ResNet3d: inflate flags are 0 or 1, got 2"},
      {"--set inflate_style=3x3x1", "resnet3d: option 'inflate_style' expects one of 3x1x1|3x3x3, got '3x3x1'"},
      {"--set spatial_strides=1,2,2", "ResNet3d: spatial_strides needs 4 values (num_stages), got 3"},
      {"--set num_stages=5", "ResNet3d: num_stages must be 1 to 4, got 5"},
      {"--set num_stages=2 --set spatial_strides=1,2 --set temporal_strides=1,1 --set dilations=1,1",
       "ResNet3d: out_indices must lie in 0..1, got 3"},
      {"--set style=torch", "resnet3d: option 'style' expects one of pytorch|caffe, got 'torch'"},
      {"--set depth=18 --set temporal_strides=2,1,1,1",
       "ResNet3d: stage 1 has temporal stride 2 but spatial stride 1 and matching channels, so its shortcut cannot "
       "stride (mmaction2 fails there too)"},
      {"--set out_indices=4", "ResNet3d: out_indices must lie in 0..3, got 4"},
      {"--set conv1_kernel=7,7", "ResNet3d: conv1_kernel needs 3 values (t, h, w), got 2"},
      {"--set dropout_ratio=1", "I3DHead: dropout_ratio must lie in [0, 1), got 1", "i3d_r50"},
      {"--set num_classes=0", "I3DHead: num_classes must be positive, got 0", "i3d_r50"},
      {"--set backbone.depth=20", "ResNet3d: invalid depth 20 for resnet", "i3d_r50"},
      {"--set backbone.out_indices=2", "Recognizer3D: the head takes the backbone's last stage alone (out_indices=3)",
       "i3d_r50"},
      {"--set depth=50", "i3d_r50: unknown option 'depth' (options: num_classes, dropout_ratio, backbone.depth, "
                         "backbone.in_channels, backbone.num_stages, backbone.base_channels, backbone.out_indices, "
                         "backbone.spatial_strides, backbone.temporal_strides, backbone.dilations, "
                         "backbone.conv1_kernel, backbone.conv1_stride_s, backbone.conv1_stride_t, "
                         "backbone.pool1_stride_s, backbone.pool1_stride_t, backbone.with_pool1, backbone.with_pool2, "
                         "backbone.style, backbone.frozen_stages, backbone.inflate, backbone.inflate_style, "
                         "backbone.norm_cfg.type, backbone.norm_cfg.requires_grad, backbone.norm_cfg.eps, "
                         "backbone.norm_cfg.momentum, backbone.norm_cfg.num_groups, backbone.act_cfg.type, "
                         "backbone.act_cfg.inplace, backbone.act_cfg.negative_slope, backbone.norm_eval, "
                         "backbone.with_cp, backbone.non_local, backbone.non_local_cfg.reduction, "
                         "backbone.non_local_cfg.use_scale, backbone.non_local_cfg.sub_sample, "
                         "backbone.non_local_cfg.mode, backbone.non_local_cfg.norm_cfg.type, "
                         "backbone.non_local_cfg.norm_cfg.requires_grad, backbone.non_local_cfg.norm_cfg.eps, "
                         "backbone.non_local_cfg.norm_cfg.momentum, backbone.non_local_cfg.norm_cfg.num_groups, "
                         "backbone.zero_init_residual)",
       "i3d_r50"},
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
