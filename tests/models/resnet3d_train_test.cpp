// ResNet3d in training mode against mmaction2 (tests/reference/make_resnet3d.py's
// TRAIN cases): one forward and backward after train() gives the same output,
// input and parameter gradients, BatchNorm statistics (frozen_stages and
// norm_eval keep them; with_cp recomputes blocks, statistics included) and
// frozen parameters. with_cp's gradients also equal those without it.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <map>
#include <set>

#include "reskit/core/error.h"
#include "reskit/io/checkpoint.h"
#include "reskit/io/npy.h"
#include "reskit/io/state_dict.h"
#include "test_util.h"

namespace reskit {
namespace {

std::string case_dir(const std::string& id) { return test::fixture("resnet3d_train/" + id); }

std::map<std::string, at::Tensor> as_map(const io::StateDict& state) { return {state.begin(), state.end()}; }

models::Model loaded(const std::vector<std::string>& sets, const std::string& weights) {
  models::Model m = test::build("resnet3d", sets);
  io::load_state_dict(*m.module, io::read_state_dict(weights), /*strict=*/true, weights);
  return m;
}

// out, input gradient and every parameter's gradient after train() and one backward of sum(out * r).
struct Step {
  at::Tensor out, input_grad;
  std::map<std::string, at::Tensor> grads;
};
Step train_step(models::Model& m, const at::Tensor& input, const at::Tensor& r) {
  m.module->train();
  at::Tensor x = input.clone().requires_grad_(true);
  Step s;
  s.out = m.forward({x}).at(0);
  (s.out * r).sum().backward();
  s.input_grad = x.grad();
  for (const auto& p : m.module->named_parameters())
    if (p.value().grad().defined()) s.grads[p.key()] = p.value().grad();
  return s;
}

class ResNet3dTrain : public ::testing::TestWithParam<std::string> {};

TEST_P(ResNet3dTrain, MatchesMmaction2) {
  const std::string d = case_dir(GetParam());
  const nlohmann::json c = test::read_json(d + "/case.json");
  models::Model m = loaded(c["sets"].get<std::vector<std::string>>(), d + "/weights.pth");
  const Step s = train_step(m, io::read_npy(d + "/input.npy"), io::read_npy(d + "/r.npy"));
  EXPECT_TRUE(test::close(s.out, io::read_npy(d + "/out.npy"), 1e-4));
  EXPECT_TRUE(test::close(s.input_grad, io::read_npy(d + "/input_grad.npy"), 1e-4));

  const auto expected_grads = as_map(io::read_state_dict(d + "/grads.pth"));
  std::set<std::string> ours, theirs;
  for (const auto& [name, g] : s.grads) ours.insert(name);
  for (const auto& [name, g] : expected_grads) theirs.insert(name);
  EXPECT_EQ(ours, theirs);
  for (const auto& [name, g] : expected_grads)
    if (s.grads.count(name)) EXPECT_TRUE(test::close(s.grads.at(name), g, 1e-3)) << name;

  const auto expected_buffers = as_map(io::read_state_dict(d + "/buffers.pth"));
  for (const auto& b : m.module->named_buffers()) {
    ASSERT_TRUE(expected_buffers.count(b.key())) << b.key();
    EXPECT_TRUE(test::close(b.value().to(at::kDouble), expected_buffers.at(b.key()).to(at::kDouble), 1e-5))
        << b.key();
  }
  std::set<std::string> frozen;
  for (const auto& p : m.module->named_parameters())
    if (!p.value().requires_grad()) frozen.insert(p.key());
  EXPECT_EQ(frozen, c["frozen"].get<std::set<std::string>>());
}

INSTANTIATE_TEST_SUITE_P(Cases, ResNet3dTrain, ::testing::Values("frozen1_cp_non_local", "frozen2_norm_eval", "cp_all"));

TEST(ResNet3dCheckpoint, GradientsEqualThoseWithoutIt) {
  // zero_init_residual=false: a zero BN scale would leave gradients of pure rounding noise.
  const std::vector<std::string> base = {"depth=18", "inflate=0,1,0,1", "non_local=0,1,0,0", "zero_init_residual=false"};
  std::vector<std::string> with_cp = base;
  with_cp.push_back("with_cp=true");
  torch::manual_seed(11);
  models::Model plain = test::build("resnet3d", base);
  models::Model cp = test::build("resnet3d", with_cp);
  io::load_state_dict(*cp.module, io::state_dict_of(*plain.module), /*strict=*/true, "plain");
  const at::Tensor x = torch::randn({2, 3, 4, 32, 32});
  const at::Tensor r = torch::randn({2, 512, 2, 1, 1});
  const Step a = train_step(plain, x, r), b = train_step(cp, x, r);
  // The checkpointed forward runs without autograd, where convolutions take
  // the oneDNN inference path: equal up to rounding, not bit for bit.
  EXPECT_TRUE(test::close(b.out, a.out, 1e-4));
  EXPECT_TRUE(test::close(b.input_grad, a.input_grad, 1e-3));
  ASSERT_EQ(a.grads.size(), b.grads.size());
  for (const auto& [name, g] : a.grads) EXPECT_TRUE(test::close(b.grads.at(name), g, 1e-3)) << name;
}

TEST(ResNet3dTrain, EvalAfterTrainKeepsFrozenStagesFrozen) {
  models::Model m = test::build("resnet3d", {"depth=18", "frozen_stages=2", "norm_eval=true"});
  m.module->train();
  for (const auto& sub : m.module->named_modules())
    if (sub.value()->as<torch::nn::BatchNorm3d>()) EXPECT_FALSE(sub.value()->is_training()) << sub.key();
  m.module->eval();
  m.module->train();
  for (const auto& p : m.module->named_parameters())
    if (p.key().rfind("layer1.", 0) == 0 || p.key().rfind("conv1.", 0) == 0) EXPECT_FALSE(p.value().requires_grad());
}

TEST(ResNet3dOptions, BadFrozenStagesAndNonLocalFlagsAreOneLineErrors) {
  EXPECT_THROW(test::build("resnet3d", {"frozen_stages=5"}), Error);
  EXPECT_THROW(test::build("resnet3d", {"non_local=1,0,2,0"}), Error);
  EXPECT_THROW(test::build("resnet3d", {"non_local=0,0,0/1,0/0,0,0,0,0,0/0,0,0"}), Error);
}

}  // namespace
}  // namespace reskit
