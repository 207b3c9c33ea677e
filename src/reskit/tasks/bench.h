#pragma once
// `reskit bench`: latency of one forward pass (or one entry point) per engine,
// the engines interleaved run by run so that machine noise hits all alike.
//   eager        reskit's modules as they are (convolutions on oneDNN)
//   libtorch     the same modules with LibTorch's own convolution choice
//   torchscript  trace + freeze + optimize_for_inference (tasks/torchscript.h)
//   fast         reskit's inference engine (engine/plan.h)
//   fast-int8    the same, its convolutions in int8 (post-training static
//                quantisation, engine::Precision::kInt8)
//   fast-bf16    the same, its convolutions on bf16 sources and weights
//                (engine::Precision::kBFloat16)
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "reskit/core/progress.h"
#include "reskit/models/registry.h"

namespace reskit::tasks {

const std::vector<std::string>& bench_engines();

struct BenchOptions {
  std::vector<std::string> engines = {"eager", "torchscript"};
  int64_t runs = 20;
  int64_t warmup = 3;
  std::string entry;                  // an entry point's name; empty: forward
  std::vector<IntList> input_sizes;   // empty: the entry's example sizes
  Progress::Style progress = Progress::Style::kQuiet;
  bool profile = false;               // time the fast engine's steps one by one (needs "fast")
  // The fast engine, run alone, takes the model's weights (engine::CompileOptions):
  // the process holds them once, as a runtime would; the model cannot run afterwards.
  bool take_weights = false;
  // fast-int8's calibration: one tensor per input, samples along dim 0;
  // empty: `calibration_sets` sets of seeded standard-normal inputs, the
  // timed inputs' own distribution.
  std::vector<at::Tensor> calibration;
  int64_t calibration_sets = 8;
  // fast-int8 and fast-bf16 against eager f32 on this many further seeded
  // inputs: top-1 agreement (a classifier's N x K output) and the largest error.
  int64_t agreement_inputs = 0;
};

// A reduced-precision engine's outputs (fast-int8, fast-bf16) against eager f32's.
struct Agreement {
  std::string engine;
  int64_t inputs = 0;
  int64_t rows = 0, top1_agree = 0;  // rows of N x K outputs whose argmax is eager's (0 rows: not a classifier)
  double max_rel_error = 0;          // max |engine - f32| / max |f32|, over every output and input
};

// One step of the fast engine's plan, its least time over the profiled runs.
struct ProfileRow {
  std::string step;
  double flop = 0;
  double min_ms = 0;
};

struct EngineResult {
  std::string engine;
  std::string error;                  // set when the engine cannot run the model; no times then
  double setup_ms = 0;                // building the engine (tracing, freezing) before the first run
  std::vector<double> times_ms;       // one per timed run
  double max_abs_diff = 0;            // largest output difference from the first engine that ran
  double memory_mb = 0;               // what the engine holds beyond the model (fast: its plan's arena, scratch, weights)
  double min_ms() const;
  double median_ms() const;
};

struct BenchResult {
  std::string model, entry;
  std::vector<IntList> input_sizes;
  int threads = 1;
  int64_t warmup = 0;
  double gflop = 0;                   // mult-adds x 2 / 1e9 of one run, as `reskit summary` counts them
  std::vector<EngineResult> results;  // in the order asked for
  double peak_rss_mb = 0;             // of the whole process
  double peak_gflops = 0;             // the measured FMA peak at `threads` (core/fma_peak.h)
  std::vector<ProfileRow> profile;    // with BenchOptions::profile
  std::vector<Agreement> agreements;  // with BenchOptions::agreement_inputs, per reduced-precision engine
};

// Inputs are seeded standard-normal tensors of the given sizes, made once.
// A model that cannot run on them at all (eager fails) is a reskit::Error.
BenchResult bench(const models::Model& model, const BenchOptions& options);

std::string format_bench_table(const BenchResult& result);
std::string format_bench_json(const BenchResult& result);
std::string format_profile_table(const BenchResult& result);

}  // namespace reskit::tasks
