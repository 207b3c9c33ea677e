#pragma once
// reskit's inference engine: a model's forward captured once (LibTorch's JIT
// tracer) into the engine's graph, passed through passes.h, and lowered to
// steps (lower.h): on the CPU, convolutions with their epilogues, pooling,
// activations and adds on oneDNN over buffers in its blocked layouts, placed
// once in an arena by liveness (memory_plan.h); every other op on ATen (its
// JIT operation), whose results are LibTorch's own.
//
// A plan is specialised to its example inputs' shapes, dtype and device, as
// any trace is; run() checks them. It serves concurrent run() calls: each
// takes a run context (arena, values, oneDNN stream) from the plan's pool,
// making one only when all are in use.
#include <ATen/core/Tensor.h>
#include <torch/nn/module.h>

#include <memory>
#include <string>
#include <vector>

#include "calibration.h"
#include "graph.h"
#include "step.h"
#include "trace.h"
#include "weight_pool.h"

namespace reskit::engine {

struct CompileOptions {
  // Keep the graph's text after capture and after each pass, and the steps (Plan::dumps).
  bool dump = false;
  // Lower onto the CPU backend (oneDNN) where it can run a node; false runs every node on ATen.
  bool use_backend = true;
  // The plan takes the module's weights: once traced, the module's parameters
  // and buffers are emptied, so that only the plan's copies (folded,
  // reordered) remain and a process never holds the weights twice. The
  // module cannot run afterwards. For a process that only runs the plan.
  bool take_weights = false;
  // Weights shared with the other plans compiled with this pool (a model's
  // entry points: SiamBAN's template and track calls): where two want the
  // same weights in the same layout, they hold one copy.
  std::shared_ptr<WeightPool> weight_pool;
  // kInt8: post-training static quantisation. The convolutions oneDNN has an
  // int8 kernel for run in int8 (onednn/int8_conv.h), their sources'
  // scales from running the graph on `calibration` (input sets shaped as the
  // example; at least one); everything else as in the f32 plan.
  // kBFloat16: the convolutions oneDNN has a bf16 kernel for read their
  // source and weights in bf16 (AVX-512; AVX512_BF16 and AMX where the CPU
  // has them), accumulate and write f32; everything else as in the f32 plan.
  Precision precision = Precision::kFloat32;
  std::vector<std::vector<at::Tensor>> calibration;
  Progress::Style progress = Progress::Style::kQuiet;  // the calibration's, on stderr
};

// Whether this CPU runs bf16 plans (oneDNN's bf16 convolutions: AVX-512 and up).
bool bf16_supported();

// What a plan holds beyond the model's own weights.
struct PlanMemory {
  size_t arena_bytes = 0;       // one run's buffers, placed by liveness
  size_t peak_live_bytes = 0;   // the most buffer bytes alive at one step (the arena's lower bound)
  size_t scratchpad_bytes = 0;  // kernels' temporary space, per run
  size_t weight_bytes = 0;      // weights reordered for the kernels, once per plan (those from the pool not counted)
};

struct StepTime {
  std::string text;
  double flop = 0;
  double ms = 0;
};

class Plan {
 public:
  Plan();
  ~Plan();
  Plan(Plan&&) noexcept;
  Plan& operator=(Plan&&) noexcept;

  std::vector<at::Tensor> run(const std::vector<at::Tensor>& inputs) const;
  // One run, timing each step (for `reskit bench --profile`).
  std::vector<at::Tensor> run_profiled(const std::vector<at::Tensor>& inputs, std::vector<StepTime>& times) const;

  const Graph& graph() const;
  // (stage, text) after capture, after each pass, and the lowered steps, with CompileOptions::dump.
  const std::vector<std::pair<std::string, std::string>>& dumps() const;
  // The steps, one a line, with the buffers they use.
  std::string steps_text() const;
  size_t step_count() const;
  PlanMemory memory() const;

 private:
  friend Plan compile(torch::nn::Module&, const TensorFunction&, const std::vector<at::Tensor>&,
                      const CompileOptions&);
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// `forward` runs `root` (switched to eval mode) on inputs shaped as `example`.
Plan compile(torch::nn::Module& root, const TensorFunction& forward, const std::vector<at::Tensor>& example,
             const CompileOptions& options = {});

}  // namespace reskit::engine
