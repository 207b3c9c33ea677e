#include "model_command.h"

#include <filesystem>
#include <iostream>

#include "reskit/core/error.h"
#include "reskit/io/npy.h"

namespace reskit::cli {
namespace {

std::vector<FlagSpec> with_model_flags(std::vector<FlagSpec> own) {
  std::vector<FlagSpec> flags = model_flags();
  flags.insert(flags.end(), own.begin(), own.end());
  return flags;
}

}  // namespace

ModelCommand::ModelCommand(std::string name, std::string usage, std::string summary, std::vector<FlagSpec> own_flags)
    : command_(std::move(name), std::move(usage), std::move(summary), with_model_flags(std::move(own_flags))) {}

bool ModelCommand::parse(const Args& argv, size_t max_positional) {
  args_ = command_.parse(argv, max_positional);
  if (args_.help) std::cout << command_.help_text();
  return !args_.help;
}

FlagSpec ModelCommand::engine_flag() {
  return {"engine", "eager|fast", "eager LibTorch modules (default) or the fast engine (compiled once per input shape)"};
}

tasks::Engine ModelCommand::engine() const {
  return tasks::parse_engine(command_.name(), command_.choice(args_, "engine", {"eager", "fast"}));
}

std::vector<FlagSpec> ModelCommand::precision_flags() {
  return {{"precision", "f32|int8|bf16",
           "the fast engine's arithmetic: f32 (default), int8 (post-training static quantisation; needs "
           "--calibration) or bf16 (convolutions on bfloat16 sources and weights; AVX-512, fast with AVX512_BF16 "
           "or AMX)"},
          {"calibration", "FILE.npy",
           "int8's calibration samples for one input (in input order), stacked along dim 0", true}};
}

bool ModelCommand::bf16() const {
  if (command_.choice(args_, "precision", {"f32", "int8", "bf16"}) != "bf16") return false;
  if (engine() != tasks::Engine::kFast) throw Error(command_.name() + ": --precision bf16 needs --engine fast");
  return true;
}

std::optional<std::vector<at::Tensor>> ModelCommand::int8_calibration() const {
  const std::string precision = command_.choice(args_, "precision", {"f32", "int8", "bf16"});
  if (precision != "int8") {
    if (args_.has("calibration")) throw Error(command_.name() + ": --calibration is for --precision int8");
    return std::nullopt;
  }
  if (engine() != tasks::Engine::kFast) throw Error(command_.name() + ": --precision int8 needs --engine fast");
  if (!args_.has("calibration"))
    throw Error(command_.name() + ": --precision int8 needs --calibration FILE.npy (samples for each input)");
  std::vector<at::Tensor> samples;
  for (const std::string& path : args_.all("calibration")) samples.push_back(io::read_npy(path));
  return samples;
}

std::string ModelCommand::model_before_inputs(const std::string& fallback, std::vector<std::string>& inputs) const {
  inputs = args_.positional;
  if (!inputs.empty() && !std::filesystem::exists(inputs[0]) && models::is_model(inputs[0])) {
    const std::string name = inputs[0];
    inputs.erase(inputs.begin());
    return name;
  }
  if (args_.has("weights") && std::filesystem::exists(tasks::sidecar_path(args_.get("weights")))) return "";
  return fallback;
}

tasks::PreparedModel ModelCommand::prepare(const std::string& model_name) const {
  return prepare(request(model_name));
}

tasks::PreparedModel ModelCommand::prepare(const tasks::ModelRequest& request) const {
  tasks::PreparedModel prepared = tasks::prepare_model(request);
  const io::LoadReport& report = prepared.load_report;
  for (const std::string& line : report.mismatched) std::cerr << "reskit: not loaded: " << line << '\n';
  if (!report.missing.empty() || !report.unexpected.empty())
    std::cerr << "reskit: non-strict load: " << report.missing.size() << " missing, " << report.unexpected.size()
              << " unexpected key(s)\n";
  return prepared;
}

}  // namespace reskit::cli
