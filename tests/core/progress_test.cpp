// The progress display: plain lines when not on a terminal (and only for
// jobs that run for a while), nothing when quiet, a bar redrawn in place on
// a terminal.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <string>
#include <thread>

#include "reskit/core/progress.h"

namespace reskit {
namespace {

std::string run(Progress::Style style, int steps, std::chrono::milliseconds pause) {
  std::FILE* out = std::tmpfile();
  {
    Progress progress("job", steps, style, out);
    for (int i = 0; i < steps; ++i) {
      std::this_thread::sleep_for(pause);
      progress.step("item" + std::to_string(i));
    }
  }
  std::rewind(out);
  std::string text;
  for (int c; (c = std::fgetc(out)) != EOF;) text += static_cast<char>(c);
  std::fclose(out);
  return text;
}

TEST(Progress, QuietPrintsNothing) { EXPECT_EQ(run(Progress::Style::kQuiet, 3, std::chrono::milliseconds(0)), ""); }

TEST(Progress, LinesOnlyForJobsThatTakeAWhile) {
  EXPECT_EQ(run(Progress::Style::kLines, 3, std::chrono::milliseconds(0)), "");
  const std::string slow = run(Progress::Style::kLines, 2, std::chrono::milliseconds(1200));
  EXPECT_NE(slow.find("job: 2/2 after "), std::string::npos) << slow;
  EXPECT_NE(slow.find("job: done, 2/2 in "), std::string::npos) << slow;
  EXPECT_EQ(slow.find('\r'), std::string::npos) << slow;
}

TEST(Progress, BarRedrawsInPlaceAndEndsItsLine) {
  const std::string bar = run(Progress::Style::kBar, 4, std::chrono::milliseconds(0));
  EXPECT_EQ(bar.rfind("\r\033[Kjob [", 0), 0u) << bar;
  EXPECT_NE(bar.find("] 4/4 "), std::string::npos) << bar;
  EXPECT_EQ(bar.back(), '\n');
  EXPECT_EQ(std::count(bar.begin(), bar.end(), '\n'), 1);
}

}  // namespace
}  // namespace reskit
