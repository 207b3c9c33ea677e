#pragma once
// What the commands that build a model share (run, summary, print,
// classify, bench): MODEL, optional when a checkpoint's sidecar names it;
// the model flags (--set, --config, --weights, --non-strict, --seed,
// --device, --threads) before the command's own; --help; and preparing the
// model, with a non-strict load's report on stderr.
#include <optional>
#include <string>
#include <vector>

#include "cli_args.h"
#include "commands.h"
#include "reskit/tasks/engine_runner.h"
#include "reskit/tasks/model_setup.h"

namespace reskit::cli {

class ModelCommand {
 public:
  ModelCommand(std::string name, std::string usage, std::string summary, std::vector<FlagSpec> own_flags);

  // Parses argv; returns false when --help was asked for (it is printed).
  // `max_positional` counts MODEL.
  bool parse(const Args& argv, size_t max_positional = 1);

  // --engine eager|fast, for the commands that run a network.
  static FlagSpec engine_flag();
  tasks::Engine engine() const;
  // --precision f32|int8|bf16 and --calibration FILE.npy (repeatable, one
  // per input, samples along dim 0), for the fast engine's int8 plans.
  static std::vector<FlagSpec> precision_flags();
  // The calibration tensors where --precision int8 asks for int8 (an error
  // without --calibration or with another engine than fast); none for f32.
  std::optional<std::vector<at::Tensor>> int8_calibration() const;
  // Whether --precision is bf16 (which needs --engine fast).
  bool bf16() const;

  const ParsedArgs& args() const { return args_; }
  const Command& command() const { return command_; }
  // The first positional: the model's name, or "" for the sidecar's.
  std::string model_name() const { return args_.positional.empty() ? "" : args_.positional[0]; }

  tasks::ModelRequest request(const std::string& model_name) const { return model_request(args_, model_name); }
  // The positionals as MODEL INPUT...: a first one that is a registry name and
  // no file is MODEL; else the weights' sidecar names it (""), or `fallback`.
  // `inputs` gets the rest.
  std::string model_before_inputs(const std::string& fallback, std::vector<std::string>& inputs) const;
  // Builds, loads and places the model named `model_name` (default: model_name()).
  tasks::PreparedModel prepare() const { return prepare(model_name()); }
  tasks::PreparedModel prepare(const std::string& model_name) const;
  // The same for a request the command has adjusted (detect's --size).
  tasks::PreparedModel prepare(const tasks::ModelRequest& request) const;

 private:
  Command command_;
  ParsedArgs args_;
};

}  // namespace reskit::cli
