// ConvModule against a plain-torch module with mmcv's layout and names.
#include <gtest/gtest.h>
#include <torch/csrc/autograd/grad_mode.h>

#include "reskit/core/error.h"
#include "reskit/io/checkpoint.h"
#include "reskit/io/state_dict.h"
#include "reskit/io/npy.h"
#include "reskit/layers/conv_module.h"
#include "test_util.h"

namespace reskit {
namespace {

using layers::ActCfg;
using layers::ActType;
using layers::ConvCfg;
using layers::ConvModule;
using layers::ConvModuleOptions;
using layers::NormCfg;
using layers::NormType;

struct Case {
  std::string id;
  ConvModuleOptions options;
};

// The same cases as tests/reference/make_conv_modules.py.
std::vector<Case> cases() {
  return {
      {"conv2d_bn_relu", ConvModuleOptions(8, 16, {3}).stride({2}).padding({1}).norm(NormCfg{})},
      {"conv3d_bn_relu",
       ConvModuleOptions(3, 8, {3, 7, 7}).stride({1, 2, 2}).padding({1, 3, 3}).conv(ConvCfg{3}).norm(NormCfg{})},
      {"conv1d_gn_leaky", ConvModuleOptions(6, 12, {5})
                              .padding({2})
                              .dilation({2})
                              .groups(2)
                              .conv(ConvCfg{1})
                              .norm(NormCfg{NormType::kGN, 4})
                              .act(ActCfg{ActType::kLeakyReLU, 0.1})},
      {"conv2d_silu_bias", ConvModuleOptions(4, 6, {1}).act(ActCfg{ActType::kSiLU})},
      {"conv2d_bn_sigmoid",
       ConvModuleOptions(4, 8, {3}).padding({2}).dilation({2}).groups(4).norm(NormCfg{}).act(ActCfg{ActType::kSigmoid})},
  };
}

TEST(ConvModule, MatchesReferenceAndKeys) {
  for (const Case& c : cases()) {
    const std::string dir = test::fixture("conv_module/" + c.id);
    ConvModule m(c.options);
    std::string keys;
    for (const auto& [key, t] : io::state_dict_of(*m)) keys += key + "\n";
    EXPECT_EQ(keys, test::read_text(dir + "/keys.txt")) << c.id;
    io::load_state_dict(*m, io::read_state_dict(dir + "/weights.pth"), true, c.id);
    m->eval();
    torch::NoGradGuard no_grad;
    EXPECT_TRUE(test::close(m->forward(io::read_npy(dir + "/input.npy")), io::read_npy(dir + "/out0.npy"), 1e-4)) << c.id;
  }
}

TEST(ConvModule, BadConfigurationsAreErrors) {
  EXPECT_THROW(ConvModule(ConvModuleOptions(3, 8, {3}).conv(ConvCfg{4})), Error);
  EXPECT_THROW(ConvModule(ConvModuleOptions(3, 8, {3, 3}).conv(ConvCfg{3})), Error);
  EXPECT_THROW(ConvModule(ConvModuleOptions(3, 10, {3}).norm(NormCfg{NormType::kGN, 4})), Error);
}

}  // namespace
}  // namespace reskit
