// siamban_r50 beyond parity (tests/reference/make_siamban.py): the template
// and search halves that the tracker calls agree with the one-call forward,
// and the registry's entry points run.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "reskit/models/registry.h"
#include "reskit/models/tracking/siamban.h"

namespace reskit {
namespace {

using models::tracking::SiamBAN;
using models::tracking::SiamBANOptions;

TEST(SiamBAN, TemplateKernelsThenTrackEqualForward) {
  torch::manual_seed(0);
  SiamBAN net{SiamBANOptions()};
  net->eval();
  torch::NoGradGuard no_grad;
  const at::Tensor z = torch::rand({2, 3, 127, 127}) * 255, x = torch::rand({2, 3, 255, 255}) * 255;
  const auto [cls, loc] = net->forward(z, x);
  const models::tracking::TemplateKernels kernels = net->template_kernels(z);
  ASSERT_EQ(kernels.cls.size(), 3u);
  EXPECT_EQ(kernels.cls[0].sizes(), (at::IntArrayRef{2, 256, 5, 5}));  // conv_kernel on the 7 x 7 crop
  const auto [cls2, loc2] = net->track(x, kernels);
  EXPECT_EQ(cls.sizes(), (at::IntArrayRef{2, 2, 25, 25}));
  EXPECT_EQ(loc.sizes(), (at::IntArrayRef{2, 4, 25, 25}));
  EXPECT_TRUE(torch::equal(cls, cls2));
  EXPECT_TRUE(torch::equal(loc, loc2));
}

TEST(SiamBAN, EntryPointsRunAtTheirExampleSizes) {
  models::Model model = models::build_model(models::default_options("siamban_r50"));
  model.module->eval();
  torch::NoGradGuard no_grad;
  ASSERT_EQ(model.entries.size(), 2u);
  for (const models::EntryPoint& e : model.entries) {
    std::vector<at::Tensor> in;
    for (const auto& s : e.example_input_sizes) in.push_back(torch::rand(s) * 255);
    const std::vector<at::Tensor> out = e.bind()(in);
    if (e.name == "template") {
      EXPECT_EQ(out.size(), 6u);  // cls and loc kernels of three levels
    } else {
      ASSERT_EQ(out.size(), 2u) << e.name;
      EXPECT_EQ(out[1].sizes(), (at::IntArrayRef{1, 4, 25, 25}));
    }
  }
}

}  // namespace
}  // namespace reskit
