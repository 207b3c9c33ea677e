// seeds/001's ResNet reproduction against the Python reference built from
// the seed (tests/reference/seed001.py), same seeded weights.
#include <gtest/gtest.h>
#include <torch/csrc/autograd/grad_mode.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "reskit/io/checkpoint.h"
#include "reskit/io/npy.h"
#include "reskit/models/registry.h"
#include "test_util.h"

namespace reskit {
namespace {

// The ids tests/reference/make_seed_models.py writes.
const std::vector<std::string> kCases = {
    "res34",         "res50_10",      "res_unit_1111_odd", "conv2_x_34",   "conv4_x_34",
    "conv2_x_101",   "conv4_x_101_4", "conv3_x_18_0",      "conv2_x_18_0", "conv2_x_101_0",
    "conv3_x_101_0", "conv3_x_101_1",
};

std::string dir(const std::string& id) { return test::fixture("seed/" + id); }

models::Model build(const std::string& name, const std::vector<std::string>& sets) {
  Options options = models::default_options(name);
  for (const std::string& s : sets) options.set_from_assignment(s);
  return models::build_model(options);
}

models::Model build_case(const std::string& id) {
  std::ifstream in(test::fixture("seed/manifest.json"));
  const nlohmann::json c = nlohmann::json::parse(in).at(id);
  return build(c["model"].get<std::string>(), c["sets"].get<std::vector<std::string>>());
}

class SeedParity : public ::testing::TestWithParam<std::string> {};

TEST_P(SeedParity, MatchesTheSeedsPython) {
  models::Model model = build_case(GetParam());
  io::load_state_dict(*model.module, io::read_state_dict(dir(GetParam()) + "/weights.pth"), true, GetParam());
  model.module->eval();
  torch::NoGradGuard no_grad;
  at::Tensor out = model.forward({io::read_npy(dir(GetParam()) + "/input.npy")})[0];
  EXPECT_TRUE(test::close(out, io::read_npy(dir(GetParam()) + "/out0.npy"), 1e-4));
}

TEST_P(SeedParity, KeysAreTheSeeds) {
  std::string ours;
  for (const auto& [key, t] : io::state_dict_of(*build_case(GetParam()).module)) ours += key + "\n";
  EXPECT_EQ(ours, test::read_text(dir(GetParam()) + "/keys.txt"));
}

INSTANTIATE_TEST_SUITE_P(Seed001, SeedParity, ::testing::ValuesIn(kCases), [](const auto& info) { return info.param; });

// The five single-block shapes the seed prints, on its batch-10 inputs.
TEST(SeedBlocks, TheSeedsPrintedShapes) {
  struct Check {
    std::vector<std::string> sets;
    std::vector<int64_t> in, out;
  };
  const std::vector<Check> checks = {
      {{"middle_out=128", "stride1=2"}, {10, 64, 56, 56}, {10, 128, 28, 28}},
      {{"middle_out=64"}, {10, 64, 56, 56}, {10, 64, 56, 56}},
      {{"block=bottleneck", "middle_out=64", "in_=64"}, {10, 64, 56, 56}, {10, 256, 56, 56}},
      {{"block=bottleneck", "middle_out=128", "stride1=2"}, {10, 256, 56, 56}, {10, 512, 28, 28}},
      {{"block=bottleneck", "middle_out=128"}, {10, 512, 28, 28}, {10, 512, 28, 28}},
  };
  torch::NoGradGuard no_grad;
  for (const Check& c : checks) {
    models::Model m = build("seed_block", c.sets);
    m.module->eval();
    EXPECT_EQ(m.forward({at::ones(c.in)})[0].sizes().vec(), c.out) << c.sets.back();
  }
}

// The zero-initialised BN weight ends every residual branch, as the seed's initialzero does.
TEST(SeedBlocks, LastBnOfEachBranchStartsAtZero) {
  for (const std::string block : {"residual_unit", "bottleneck"}) {
    models::Model m = build("seed_layer", {"block=" + block});
    const std::string last = block == "residual_unit" ? ".fit_.2.1.weight" : ".fit_.4.1.weight";
    int zeroed = 0;
    for (const auto& [key, t] : io::state_dict_of(*m.module)) {
      if (key.size() > last.size() && key.compare(key.size() - last.size(), last.size(), last) == 0) {
        EXPECT_EQ(t.abs().sum().item<double>(), 0.0) << key;
        ++zeroed;
      } else if (key.find(".weight") != std::string::npos && t.dim() == 1) {
        EXPECT_EQ(t.min().item<double>(), 1.0) << key;
      }
    }
    EXPECT_EQ(zeroed, 3) << block;
  }
}

TEST(SeedResNet, TooSmallInputIsAOneLineError) {
  const std::string out = test::temp_dir("seed_small");
  auto r = test::run_reskit("run seed_resnet --input " + test::fixture("npy/tiny_input.npy") + " --out " + out);
  EXPECT_EQ(r.status, 1);
  EXPECT_EQ(r.err.rfind("reskit: seed_resnet: cannot run on input 1x3x2x2: ", 0), 0u) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1);
}

}  // namespace
}  // namespace reskit
