#pragma once
// A small flag parser for the reskit commands: `--flag VALUE`, `--flag=VALUE`,
// repeatable flags, positionals; unknown flags are one-line errors.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "reskit/tasks/model_setup.h"

namespace reskit::cli {

struct FlagSpec {
  std::string name;  // without the leading dashes
  std::string metavar;  // empty: a switch that takes no value
  std::string help;
  bool repeatable = false;
};

struct ParsedArgs {
  std::map<std::string, std::vector<std::string>> values;
  std::vector<std::string> positional;
  bool help = false;

  bool has(const std::string& flag) const { return values.count(flag) > 0; }
  std::string get(const std::string& flag, const std::string& fallback = "") const;
  std::vector<std::string> all(const std::string& flag) const;
  int64_t get_int(const std::string& flag, int64_t fallback) const;
  double get_double(const std::string& flag, double fallback) const;
};

class Command {
 public:
  Command(std::string name, std::string usage, std::string summary, std::vector<FlagSpec> flags);
  ParsedArgs parse(const std::vector<std::string>& args, size_t max_positional) const;
  std::string help_text() const;
  // The flag's value, one of `choices` (the first is the default); anything
  // else is an error naming the command and the choices.
  std::string choice(const ParsedArgs& args, const std::string& flag, const std::vector<std::string>& choices) const;
  const std::string& name() const { return name_; }

 private:
  std::string name_, usage_, summary_;
  std::vector<FlagSpec> flags_;
};

// --set, --config, --weights, --non-strict, --seed, --device
std::vector<FlagSpec> model_flags();
tasks::ModelRequest model_request(const ParsedArgs& args, const std::string& model_name);

// --threads N, checked; 0 when absent (the CPUs this process may use).
int thread_count(const ParsedArgs& args);

// "a,b,,c" -> {"a", "b", "c"}
std::vector<std::string> split_commas(const std::string& text);

// "10x3x224x224" -> {10, 3, 224, 224}
std::vector<int64_t> parse_size(const std::string& text, const std::string& flag);

}  // namespace reskit::cli
