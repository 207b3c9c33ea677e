// Python's spellings, against Python itself.
#include <gtest/gtest.h>

#include <sstream>

#include "reskit/core/text_format.h"
#include "test_util.h"

namespace reskit {
namespace {

TEST(TextFormat, MatchesPythonsFormatting) {
  const std::vector<int64_t> ints = {0, 7, 999, 1000, -1234567, 25557032, 4089184256};
  const std::vector<double> floats = {0.0, 1.005, 2.675, 1234567.891, -0.125, 1e-7, 99.995};
  std::string code = "import sys\n";
  for (int64_t n : ints) code += "print(f'{" + std::to_string(n) + ":,}')\n";
  for (double x : floats) {
    const std::string v = python_float_repr(x);
    code += "print(f'{" + v + ":.2f}|{" + v + ":,.2f}|{" + v + ":.4f}')\n";
  }
  code += "print((3, 3), (3,), [1, 3, 224, 224])\n";
  const test::CommandResult python = test::run_python(code);
  ASSERT_EQ(python.status, 0) << python.err;
  std::string ours;
  for (int64_t n : ints) ours += with_commas(n) + "\n";
  for (double x : floats)
    ours += python_fixed(x, 2) + "|" + python_fixed_with_commas(x, 2) + "|" + python_fixed(x, 4) + "\n";
  ours += python_tuple({3, 3}) + " " + python_tuple({3}) + " " + python_list({1, 3, 224, 224}) + "\n";
  EXPECT_EQ(ours, python.out);
}

TEST(TextFormat, Sizes) {
  EXPECT_EQ(sizes_text(std::vector<int64_t>{1, 3, 224, 224}), "1x3x224x224");
  EXPECT_EQ(sizes_text(std::vector<std::vector<int64_t>>{{1, 3, 127, 127}, {1, 3, 255, 255}}),
            "1x3x127x127, 1x3x255x255");
}

}  // namespace
}  // namespace reskit
