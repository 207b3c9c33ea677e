// seeds/001's ResNet reproduction beyond parity (tests/models/parity_test.cpp,
// against tests/reference/seed001.py): the command line, the seed's printed
// shapes and parameter counts, its initialisation, its errors.
#include <gtest/gtest.h>
#include <torch/csrc/autograd/grad_mode.h>

#include <algorithm>

#include "reskit/io/npy.h"
#include "reskit/io/state_dict.h"
#include "reskit/models/registry.h"
#include "test_util.h"

namespace reskit {
namespace {

std::string dir(const std::string& id) { return test::parity_case("seed", id).dir(); }
using test::build;

// The same parity through the command line: --weights, --input, out0.npy.
TEST(SeedParityCli, RunMatchesTheSeedsPython) {
  const std::string out = test::temp_dir("seed_cli");
  const auto r = test::run_reskit("run seed_block --set middle_out=128 --set stride1=2 --weights " +
                                  dir("conv3_x_18_0") + "/weights.pth --input " + dir("conv3_x_18_0") +
                                  "/input0.npy --out " + out);
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(test::close(io::read_npy(out + "/out0.npy"), io::read_npy(dir("conv3_x_18_0") + "/out0.npy"), 1e-4));
}

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

int64_t count_params(const models::Model& m) {
  int64_t n = 0;
  for (const auto& p : m.module->parameters()) n += p.numel();
  return n;
}

// The parameter counts in the seed's torchinfo tables (acceptance data).
TEST(SeedResNet, TheSeedsParameterCounts) {
  EXPECT_EQ(count_params(build("seed_layer", {})), 234624);  // conv2_x_34: 3 x 78,208
  EXPECT_EQ(count_params(build("seed_layer", {"block=bottleneck"})), 347904);  // conv2_x_101
  EXPECT_EQ(count_params(build("seed_layer", {"block=bottleneck", "middle_out=256", "num_blocks=23",
                                              "afterconv1=false"})),
            49204224);  // conv4_x_101
  EXPECT_EQ(count_params(build("seed_block", {})), 78208);
  const models::Model res34 = build("seed_resnet", {});
  EXPECT_EQ(count_params(res34), 22716840);
  const std::vector<std::pair<std::string, int64_t>> stages = {
      {"layer1", 9536},      {"layer2_x", 234624},    {"layer3_x", 1166336}, {"layer4_x", 7152640},
      {"layer5_x", 13640704}, {"fc", 513000}};
  for (const auto& [name, expected] : stages) {
    int64_t n = 0;
    for (const auto& p : res34.module->named_children()[name]->parameters()) n += p.numel();
    EXPECT_EQ(n, expected) << name;
  }
}

// The seed's ResNet on its own 10x3x224x224 shape gives 10 logits (its forward lacks the return; ours has it).
TEST(SeedResNet, LogitsOnTheSeedsInputShape) {
  torch::NoGradGuard no_grad;
  models::Model m = build("seed_resnet", {"layers=1,1,1,1", "num_classes=1000"});
  m.module->eval();
  EXPECT_EQ(m.forward({at::zeros({10, 3, 224, 224})})[0].sizes().vec(), (std::vector<int64_t>{10, 1000}));
}

TEST(SeedResNet, TooSmallInputIsAOneLineError) {
  const std::string out = test::temp_dir("seed_small");
  auto r = test::run_reskit("run seed_resnet --input " + test::fixture("seed/tiny_input.npy") + " --out " + out);
  EXPECT_EQ(r.status, 1);
  EXPECT_EQ(r.err.rfind("reskit: seed_resnet: cannot run on input 1x3x2x2: ", 0), 0u) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1);
}

}  // namespace
}  // namespace reskit
