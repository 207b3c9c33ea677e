#pragma once
// Shared helpers for the suite: where fixtures live, tolerance checks that
// say how large a miss was, and running the reskit binary.
#include <gtest/gtest.h>
#include <ATen/ATen.h>
#include <nlohmann/json.hpp>

#include <functional>
#include <string>
#include <vector>

#include "reskit/models/registry.h"

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
// The message of the reskit::Error that `f` throws, or "(no error)".
std::string error_of(const std::function<void()>& f);

// Runs a shell command line and captures both streams.
CommandResult run_shell(const std::string& command);
// Runs `reskit ARGS` (ARGS is shell-quoted by the caller) and captures both streams.
CommandResult run_reskit(const std::string& args);
// Runs a Python snippet with the fixture interpreter.
CommandResult run_python(const std::string& code);
std::string read_text(const std::string& path);
// A JSON file (a fixture's manifest, case or expected values); a missing one fails the test.
nlohmann::json read_json(const std::string& path);
// Single quotes keep `--set inflate=1,1/0,1`, paths with spaces and friends whole for the shell.
std::string shell_quote(const std::string& s);

// A registry model with `--set` assignments applied.
models::Model build(const std::string& model, const std::vector<std::string>& sets = {});

// The cases tests/reference/list_cases.py listed at configure time (the
// fixtures themselves are made at test time).
struct ParityCase {
  std::string family, id, model;
  std::vector<std::string> sets;
  bool legacy = false;
  std::string dir() const { return fixture("parity/" + family + "/" + id); }
  std::string name() const { return family + "_" + id; }
};
const std::vector<ParityCase>& parity_cases();
const ParityCase& parity_case(const std::string& family, const std::string& id);
const std::vector<std::string>& summary_case_ids();

// gtest's name for a parameterised case: its id, which reads in ctest's list.
struct CaseName {
  template <typename Info>
  std::string operator()(const Info& info) const {
    return info.param.name();
  }
};

}  // namespace reskit::test
