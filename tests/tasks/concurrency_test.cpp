// One loaded model serves several threads at once: every call gives what
// the same call gives alone.
#include <gtest/gtest.h>
#include <torch/csrc/autograd/grad_mode.h>

#include <atomic>
#include <thread>

#include "reskit/tasks/model_setup.h"
#include "test_util.h"

namespace reskit {
namespace {

TEST(Concurrency, FourThreadsOfAHundredCallsMatchSequentialCalls) {
  at::manual_seed(0);
  models::Model model = test::build("resnet18", {"num_classes=10"});
  model.module->eval();
  std::vector<at::Tensor> inputs, expected;
  for (int i = 0; i < 4; ++i) {
    inputs.push_back(at::randn({1, 3, 32, 32}));
    expected.push_back(tasks::run_forward(model, {inputs.back()}).at(0));
  }
  std::atomic<int> mismatches{0}, calls{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < 100; ++i) {
        const int which = (t + i) % 4;  // each thread cycles through every input
        const at::Tensor out = tasks::run_forward(model, {inputs[which]}).at(0);
        if (!out.equal(expected[which])) ++mismatches;
        ++calls;
      }
    });
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(calls.load(), 400);
  EXPECT_EQ(mismatches.load(), 0) << "calls from several threads differ from the same calls alone";
}

}  // namespace
}  // namespace reskit
