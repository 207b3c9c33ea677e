// reskit bench: latency side by side, engines interleaved (CONTRACT.md).
#include <iostream>

#include "model_command.h"
#include "reskit/core/error.h"
#include "reskit/io/npy.h"
#include "reskit/tasks/bench.h"

namespace reskit::cli {

int cmd_bench(const Args& argv) {
  ModelCommand command(
      "bench",
      "reskit bench MODEL [--set KEY=VALUE ...] [--input-size 1x3x224x224 ...] [--engine eager,torchscript] "
      "[--runs N] [--warmup N] [--threads N] [--entry NAME] [--profile] [--format table|json] "
      "[--calibration FILE.npy ...] [--agreement-inputs N]",
      "Times one forward pass (eval, no-grad, inputs made once) per engine, interleaving the engines run by run; "
      "prints min and median ms, GFLOP/s from the mult-adds `reskit summary` counts, and peak RSS. Engines: "
      "eager (reskit's modules), libtorch (the same on LibTorch's own convolution choice), torchscript "
      "(trace, freeze, optimize_for_inference), fast (reskit's engine: BatchNorm folded, convolutions, pooling and "
      "adds on oneDNN in its blocked layouts with their residual add and activation fused, buffers planned once, "
      "the rest on ATen), fast-int8 (the same with its convolutions in int8: post-training static quantisation, "
      "u8/s8 sources per tensor, s8 weights per channel), fast-bf16 (the same with its convolutions on bf16 sources "
      "and weights, f32 accumulation: AVX-512, fast with AVX512_BF16 or AMX). GFLOP/s and % of peak are at the minimum time, against this machine's measured FMA "
      "throughput at the same thread count; memory MB is what an engine holds beyond the model.",
      {{"input-size", "NxCxHxW", "an input's shape, in the entry's argument order (default: its example)", true},
       {"engine", "a,b,...", "eager, libtorch, torchscript, fast, fast-int8, fast-bf16 (default eager,torchscript)"},
       {"calibration", "FILE.npy",
        "fast-int8's calibration samples for one input (in input order), stacked along dim 0 (default: 8 seeded "
        "standard-normal inputs, the timed input's distribution)",
        true},
       {"agreement-inputs", "N",
        "compare fast-int8 and fast-bf16 with eager f32 on N more seeded inputs: top-1 agreement and max error "
        "(default 0)"},
       {"runs", "N", "timed runs per engine (default 20)"},
       {"warmup", "N", "untimed runs per engine first (default 3)"},
       {"entry", "NAME", "the entry point to time, for models with several (default forward)"},
       {"format", "table|json", "output format (default table)"},
       {"profile", "",
        "also time each step of the fast engine's plan, the first of fast, fast-int8 and fast-bf16 listed (with GFLOP/s "
        "and % of "
        "the measured FMA peak)"},
       {"quiet", "", "no progress on stderr"}});
  if (!command.parse(argv)) return 0;
  const ParsedArgs& args = command.args();
  tasks::BenchOptions options;
  if (args.has("engine")) options.engines = split_commas(args.get("engine"));
  if (options.engines.empty()) throw Error("bench: --engine lists no engine");
  options.runs = args.get_int("runs", options.runs);
  options.warmup = args.get_int("warmup", options.warmup);
  options.entry = args.get("entry");
  options.profile = args.has("profile");
  // Alone, the fast engine holds the only copy of the weights, as a runtime would.
  for (const std::string& path : args.all("calibration")) options.calibration.push_back(io::read_npy(path));
  options.agreement_inputs = args.get_int("agreement-inputs", options.agreement_inputs);
  // (Not when the agreement needs the model to run eagerly afterwards.)
  options.take_weights = options.engines.size() == 1 && options.engines[0].rfind("fast", 0) == 0 &&
                         options.agreement_inputs == 0;
  for (const std::string& text : args.all("input-size")) options.input_sizes.push_back(parse_size(text, "input-size"));
  const std::string format = command.command().choice(args, "format", {"table", "json"});
  options.progress = progress_style(args.has("quiet"));

  const tasks::PreparedModel prepared = command.prepare();
  const tasks::BenchResult result = tasks::bench(prepared.model, options);
  std::cout << (format == "json" ? tasks::format_bench_json(result) + "\n" : tasks::format_bench_table(result));
  return 0;
}

}  // namespace reskit::cli
