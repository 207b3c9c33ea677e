// train-seg's step (tasks/seg_step) against the Python reference of
// seeds/004's recipe (tests/reference/make_encnet.py, encnet/train_step/):
// from the same weights on the same batch, the losses of every step (total,
// cross-entropy, SE) and the parameters after the last, in float64 and in
// float32; one without a gradient (backbone.fc) must not move at all.
#include <gtest/gtest.h>
#include <torch/optim/sgd.h>

#include <array>
#include <map>

#include "reskit/io/npy.h"
#include "reskit/io/state_dict.h"
#include "reskit/tasks/seg_step.h"
#include "test_util.h"

namespace reskit {
namespace {

class EncNetTrainStep : public ::testing::TestWithParam<std::string> {};

using Parameters = std::map<std::string, at::Tensor>;

Parameters parameters_of(const models::Model& model) {
  Parameters m;
  for (const auto& p : model.module->named_parameters()) m[p.key()] = p.value().detach().clone();
  return m;
}

struct Steps {
  Parameters before, after;
  std::vector<std::array<double, 3>> losses;  // total, cross-entropy, SE per step
};

// The case's steps from its weights and batch, in `dtype`.
Steps run_steps(const std::string& dir, const nlohmann::json& c, at::ScalarType dtype) {
  models::Model model = test::build(c["model"], c["sets"].get<std::vector<std::string>>());
  io::load_state_dict(*model.module, io::read_state_dict(dir + "/weights.pth"), /*strict=*/true, dir);
  model.module->to(dtype);
  Steps out;
  out.before = parameters_of(model);
  const at::Tensor images = io::read_npy(dir + "/images.npy").to(dtype);
  const at::Tensor labels = io::read_npy(dir + "/labels.npy").to(at::kLong);
  model.module->train();
  const std::vector<at::Tensor> parameters = model.module->parameters();
  torch::optim::SGD optimizer(parameters, torch::optim::SGDOptions(c["lr"].get<double>())
                                              .momentum(c["momentum"].get<double>())
                                              .weight_decay(c["weight_decay"].get<double>()));
  const tasks::SeLoss se_loss = c["se_loss"] == "bce" ? tasks::SeLoss::kBce : tasks::SeLoss::kMse;
  for (int64_t s = 0; s < c["steps"].get<int64_t>(); ++s) {
    const tasks::SegStep step =
        tasks::segmentation_step(model, optimizer, parameters, images, labels, c["se_weight"].get<double>(), se_loss);
    out.losses.push_back({step.loss.total.item<double>(), step.loss.cross_entropy.item<double>(),
                          step.loss.se.item<double>()});
  }
  out.after = parameters_of(model);
  return out;
}

Parameters read_parameters(const std::string& path) {
  Parameters m;
  for (auto& [name, value] : io::read_state_dict(path)) m[name] = value;
  return m;
}

// In float64 the step is the reference's to far below anything a wrong
// gradient could hide in (float64 rounding, even where the case's
// ill-conditioned BatchNorms amplify it, stays below 1e-8 of a range). In
// float32 the same code stays within the case's bound on what float32
// rounding alone may move a parameter, measured against its own float64 run:
// float32 kernels differ from one CPU to the next, so Python's float32
// results are not a bound for ours.
TEST_P(EncNetTrainStep, MatchesTheReference) {
  const std::string dir = test::fixture("encnet/train_step/" + GetParam());
  const nlohmann::json c = test::read_json(dir + "/settings.json");
  const Steps exact = run_steps(dir, c, at::kDouble);
  const Steps single = run_steps(dir, c, at::kFloat);

  const auto& losses = c["losses"];
  ASSERT_EQ(single.losses.size(), losses.size());
  for (size_t s = 0; s < losses.size(); ++s)
    for (size_t t = 0; t < 3; ++t)
      EXPECT_NEAR(single.losses[s][t], losses[s][t].get<double>(), 1e-4 * std::abs(losses[s][t].get<double>()) + 1e-6)
          << "step " << s + 1 << ", term " << t << " (total, cross-entropy, SE)";

  const Parameters expected = read_parameters(dir + "/params_after_f64.pth");
  const auto no_grad = c["no_grad_parameters"].get<std::vector<std::string>>();
  EXPECT_FALSE(no_grad.empty());
  const double float32_bound = c["max_error"].get<double>();
  for (const auto& [name, value] : exact.after) {
    ASSERT_TRUE(expected.count(name)) << name;
    if (std::find(no_grad.begin(), no_grad.end(), name) != no_grad.end()) {
      EXPECT_TRUE(at::equal(value, exact.before.at(name))) << name << " has no gradient and must not move";
      EXPECT_TRUE(at::equal(single.after.at(name), single.before.at(name))) << name << " moved in float32";
      continue;
    }
    EXPECT_TRUE(test::close(value, expected.at(name), 1e-8)) << name << " in float64";
    EXPECT_TRUE(test::close(single.after.at(name).to(at::kDouble), value, float32_bound)) << name << " in float32";
    EXPECT_FALSE(at::equal(value, exact.before.at(name))) << name << " did not move";
  }
}

INSTANTIATE_TEST_SUITE_P(Cases, EncNetTrainStep, ::testing::Values("seed", "momentum_bce", "r50"));

}  // namespace
}  // namespace reskit
