#pragma once
// Shared helpers for the suite: where fixtures live, tolerance checks that
// say how large a miss was, and running the reskit binary.
#include <gtest/gtest.h>
#include <ATen/ATen.h>

#include <string>

namespace reskit::test {

std::string fixture(const std::string& name);  // path under the fixture dir
std::string temp_dir(const std::string& name);  // a fresh empty directory

// max |a - b| <= rel_tol * max |expected|; the failure message names the
// case, the worst element and the limit.
::testing::AssertionResult close(const at::Tensor& actual, const at::Tensor& expected, double rel_tol);

struct CommandResult {
  int status = -1;
  std::string out;
  std::string err;
};
// Runs `reskit ARGS` (ARGS is shell-quoted by the caller) and captures both streams.
CommandResult run_reskit(const std::string& args);
// Runs a Python snippet with the fixture interpreter.
CommandResult run_python(const std::string& code);
std::string read_text(const std::string& path);

}  // namespace reskit::test
