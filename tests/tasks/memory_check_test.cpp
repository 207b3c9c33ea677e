// A forward too large for the machine is refused before it starts, with the
// figures; sizes are only shapes here, so nothing large is allocated.
#include <gtest/gtest.h>

#include "reskit/core/error.h"
#include "reskit/core/memory.h"
#include "reskit/tasks/memory_check.h"
#include "reskit/tasks/summary.h"
#include "test_util.h"

namespace reskit {
namespace {

TEST(MemoryCheck, LowerBoundScalesWithTheInputAndMatchesTheLargestLayer) {
  const models::Model model = test::build("resnet18");
  // At 1x3x256x256 the largest pair is bn1's (or relu's) input and output, 64x128x128 each.
  const uint64_t exact = 4 * (2 * 64 * 128 * 128);
  const uint64_t at_256 = tasks::forward_memory_lower_bound(*model.module, model.forward, {{1, 3, 256, 256}});
  EXPECT_EQ(at_256, exact);
  // A probe of ~1M elements stands for 2x3x4096x4096: 512 times the elements, batch included.
  const uint64_t large = tasks::forward_memory_lower_bound(*model.module, model.forward, {{2, 3, 4096, 4096}});
  EXPECT_NEAR(static_cast<double>(large), 512.0 * exact, 0.02 * 512 * exact);
}

TEST(MemoryCheck, RefusesWhatTheMachineCannotHold) {
  const models::Model model = test::build("resnet18");
  try {
    tasks::check_forward_memory("resnet18", *model.module, model.forward, {{1, 3, 100000, 100000}});
    FAIL() << "a 100000x100000 image was accepted with " << gigabytes_text(available_memory_bytes()) << " available";
  } catch (const Error& e) {
    const std::string what = e.what();
    EXPECT_EQ(what.rfind("resnet18: input 1x3x100000x100000 needs at least ", 0), 0u) << what;
    EXPECT_NE(what.find(" GB of memory (its largest layer's input and output), more than the "), std::string::npos);
  }
  EXPECT_NO_THROW(tasks::check_forward_memory("resnet18", *model.module, model.forward, {{1, 3, 2048, 2048}}));
}

// The commands that make their own inputs from sizes check before they allocate them.
TEST(MemoryCheck, SummaryAndBenchRefuseBeforeAllocating) {
  for (const std::string command : {"summary", "bench --quiet"}) {
    const auto r = test::run_reskit(command + " resnet18 --input-size 1x3x100000x100000");
    EXPECT_EQ(r.status, 1) << command;
    EXPECT_EQ(r.err.rfind("reskit: resnet18: input 1x3x100000x100000 needs at least ", 0), 0u) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  }
}

}  // namespace
}  // namespace reskit
