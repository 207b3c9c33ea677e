// Write failures: a full disk or an unwritable directory is one clear line,
// and nothing half-written is left. Injected (RESKIT_INJECT_WRITE_ERROR), so
// that the tests hold when CI runs as root, for whom permissions never fail.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>

#include "reskit/core/error.h"
#include "reskit/io/atomic_file.h"
#include "reskit/tasks/model_setup.h"
#include "test_util.h"

namespace reskit {
namespace {

namespace fs = std::filesystem;

class InjectedWriteError {
 public:
  explicit InjectedWriteError(const char* error) { ::setenv("RESKIT_INJECT_WRITE_ERROR", error, 1); }
  ~InjectedWriteError() { ::unsetenv("RESKIT_INJECT_WRITE_ERROR"); }
};

TEST(WriteFailure, RunLeavesNoOutputAndSaysWhy) {
  for (const auto& [error, text] : std::vector<std::pair<const char*, std::string>>{
           {"ENOSPC", "No space left on device"}, {"EACCES", "Permission denied"}}) {
    const std::string dir = test::temp_dir(std::string("write_failure_") + error);
    InjectedWriteError inject(error);
    const auto r = test::run_reskit("run resnet18 --set num_classes=3 --set features=true --input " +
                                    test::fixture("npy/image_input.npy") + " --out " + dir);
    EXPECT_EQ(r.status, 1) << error;
    EXPECT_EQ(r.err, "reskit: cannot write '" + dir + "/out0.npy': " + text + "\n") << error;
    EXPECT_TRUE(fs::is_empty(dir)) << "partial output left behind on " << error;
  }
}

TEST(WriteFailure, CheckpointAndSidecarAreBothOrNeither) {
  const std::string dir = test::temp_dir("write_failure_checkpoint");
  const models::Model model = test::build("seed_block");
  {
    InjectedWriteError inject("ENOSPC");
    EXPECT_THROW(tasks::save_checkpoint(dir + "/block.pth", model), Error);
  }
  EXPECT_TRUE(fs::is_empty(dir));
  tasks::save_checkpoint(dir + "/block.pth", model);
  EXPECT_TRUE(fs::exists(dir + "/block.pth") && fs::exists(dir + "/block.pth.json"));
  // A failed save over an existing checkpoint leaves the old one whole.
  const std::string before = test::read_text(dir + "/block.pth");
  {
    InjectedWriteError inject("ENOSPC");
    EXPECT_THROW(tasks::save_checkpoint(dir + "/block.pth", model), Error);
  }
  EXPECT_EQ(test::read_text(dir + "/block.pth"), before);
  EXPECT_EQ(std::distance(fs::directory_iterator(dir), fs::directory_iterator()), 2);
}

}  // namespace
}  // namespace reskit
