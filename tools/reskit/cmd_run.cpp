// reskit run: one forward pass, .npy in, .npy out (CONTRACT.md).
#include <filesystem>
#include <memory>

#include "model_command.h"
#include "reskit/core/error.h"
#include "reskit/io/atomic_file.h"
#include "reskit/io/npy.h"

namespace reskit::cli {

int cmd_run(const Args& argv) {
  std::vector<FlagSpec> flags = {{"input", "FILE.npy", "an input, in forward-argument order", true},
                                 {"out", "DIR", "where out0.npy, out1.npy, ... are written"},
                                 ModelCommand::engine_flag()};
  for (FlagSpec& f : ModelCommand::precision_flags()) flags.push_back(std::move(f));
  ModelCommand command("run",
                       "reskit run MODEL [--set KEY=VALUE ...] [--weights FILE] --input FILE.npy ... --out DIR "
                       "[--engine eager|fast] [--precision f32|int8|bf16 --calibration FILE.npy ...]",
                       "Runs one forward pass in eval mode under no-grad and writes every output as .npy.",
                       std::move(flags));
  if (!command.parse(argv)) return 0;
  const ParsedArgs& args = command.args();
  const tasks::Engine engine = command.engine();
  const std::optional<std::vector<at::Tensor>> calibration = command.int8_calibration();
  if (!args.has("input")) throw Error("run: at least one --input FILE.npy is required");
  if (!args.has("out")) throw Error("run: --out DIR is required");

  const tasks::PreparedModel prepared = command.prepare();
  std::vector<at::Tensor> inputs;
  for (const std::string& path : args.all("input")) inputs.push_back(io::read_npy(path).to(prepared.device));
  // On the fast engine the plan is made for these inputs' shapes, one compile
  // for one run: it takes the model's weights rather than copy them.
  tasks::EngineRunner runner(prepared.model, engine, /*take_weights=*/true);
  if (calibration) runner.use_int8(*calibration, Progress::Style::kAuto);
  if (command.bf16()) runner.use_bf16();
  const std::vector<at::Tensor> outputs = runner(inputs);

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
