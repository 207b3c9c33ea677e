// reskit run: one forward pass, .npy in, .npy out (CONTRACT.md).
#include <ATen/Parallel.h>
#include <c10/util/Exception.h>
#include <torch/csrc/autograd/grad_mode.h>

#include <filesystem>
#include <iostream>
#include <memory>

#include "cli_args.h"
#include "commands.h"
#include "reskit/core/error.h"
#include "reskit/io/atomic_file.h"
#include "reskit/io/npy.h"

namespace reskit::cli {

std::string format_sizes(const std::vector<int64_t>& sizes) {
  std::string s;
  for (size_t i = 0; i < sizes.size(); ++i) s += (i ? "x" : "") + std::to_string(sizes[i]);
  return s;
}

namespace {

const Command& run_command() {
  static const Command command = [] {
    std::vector<FlagSpec> flags = model_flags();
    flags.push_back({"input", "FILE.npy", "an input, in forward-argument order", true});
    flags.push_back({"out", "DIR", "where out0.npy, out1.npy, ... are written"});
    flags.push_back({"engine", "eager|fast", "eager LibTorch modules (default) or the fast engine"});
    flags.push_back({"threads", "N", "intra-op threads"});
    return Command("run", "reskit run MODEL [--set KEY=VALUE ...] [--weights FILE] --input FILE.npy ... --out DIR",
                   "Runs one forward pass in eval mode under no-grad and writes every output as .npy.", flags);
  }();
  return command;
}

}  // namespace

int cmd_run(const Args& argv) {
  const Command& command = run_command();
  ParsedArgs args = command.parse(argv, 1);
  if (args.help) {
    std::cout << command.help_text();
    return 0;
  }
  if (command.choice(args, "engine", {"eager", "fast"}) == "fast")
    throw Error("run: the fast engine is not available yet (use --engine eager)");
  if (!args.has("input")) throw Error("run: at least one --input FILE.npy is required");
  if (!args.has("out")) throw Error("run: --out DIR is required");
  if (args.has("threads")) {
    const int64_t threads = args.get_int("threads", 1);
    if (threads < 1) throw Error("run: --threads must be at least 1, got " + std::to_string(threads));
    at::set_num_threads(static_cast<int>(threads));
  }

  tasks::PreparedModel prepared = tasks::prepare_model(model_request(args, args.positional.empty() ? "" : args.positional[0]));
  for (const std::string& line : prepared.load_report.mismatched) std::cerr << "reskit: not loaded: " << line << '\n';
  if (!prepared.load_report.missing.empty() || !prepared.load_report.unexpected.empty())
    std::cerr << "reskit: non-strict load: " << prepared.load_report.missing.size() << " missing, "
              << prepared.load_report.unexpected.size() << " unexpected key(s)\n";

  std::vector<at::Tensor> inputs;
  std::string input_sizes;
  for (const std::string& path : args.all("input")) {
    inputs.push_back(io::read_npy(path).to(prepared.device));
    input_sizes += (input_sizes.empty() ? "" : ", ") + format_sizes(inputs.back().sizes().vec());
  }

  std::vector<at::Tensor> outputs;
  {
    torch::NoGradGuard no_grad;
    try {
      outputs = prepared.model.forward(inputs);
    } catch (const c10::Error& e) {
      const std::string what = e.what_without_backtrace();
      throw Error(prepared.model.name + ": cannot run on input " + input_sizes + ": " + what.substr(0, what.find('\n')));
    }
  }

  const std::filesystem::path out_dir = args.get("out");
  std::error_code ec;
  std::filesystem::create_directories(out_dir, ec);
  if (!std::filesystem::is_directory(out_dir)) throw Error("run: cannot create output directory '" + out_dir.string() + "'");
  // Every file is written to a temporary first and renamed only when all are done.
  std::vector<std::unique_ptr<io::AtomicFile>> files;
  for (size_t i = 0; i < outputs.size(); ++i) {
    files.push_back(std::make_unique<io::AtomicFile>((out_dir / ("out" + std::to_string(i) + ".npy")).string()));
    io::write_npy(files.back()->stream(), outputs[i]);
  }
  for (auto& f : files) f->commit();
  return 0;
}

}  // namespace reskit::cli
