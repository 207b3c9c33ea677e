#include "reskit/tasks/bench.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>
#include <ATen/core/grad_mode.h>
#include <c10/util/Exception.h>
#include <sys/resource.h>
#include <torch/cuda.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>

#include "reskit/core/error.h"
#include "reskit/core/fma_peak.h"
#include "reskit/core/memory.h"
#include "reskit/core/text_format.h"
#include "reskit/layers/conv.h"
#include "reskit/tasks/calibration_sets.h"
#include "reskit/tasks/memory_check.h"
#include "reskit/tasks/model_setup.h"
#include "reskit/tasks/summary.h"
#include "reskit/engine/plan.h"
#include "reskit/tasks/torchscript.h"

namespace reskit::tasks {
namespace {

using Clock = std::chrono::steady_clock;
using models::Forward;
using Runner = Forward;

double ms_since(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

std::string first_line(const std::string& s) { return s.substr(0, s.find('\n')); }

// The entry point to time: the model's forward or one of its named entries.
struct Target {
  std::string name;
  Forward forward;
  std::vector<IntList> example_input_sizes;
};

Target find_target(const models::Model& model, const std::string& entry) {
  if (entry.empty() || entry == "forward") return {"forward", model.forward, model.example_input_sizes};
  std::string known = "forward";
  for (const models::EntryPoint& e : model.entries) {
    if (e.name == entry) return {e.name, e.bind(), e.example_input_sizes};
    known += ", " + e.name;
  }
  throw Error("bench: " + model.name + " has no entry point '" + entry + "' (entry points: " + known + ")");
}

bool is_fast(const std::string& engine) { return engine.rfind("fast", 0) == 0; }

// `fast_plan` receives the fast engine's plan, for its memory and profile.
Runner make_runner(const std::string& engine, const models::Model& model, const Forward& forward,
                   const std::vector<at::Tensor>& inputs, const BenchOptions& options,
                   std::shared_ptr<engine::Plan>& fast_plan) {
  if (engine == "eager")
    return [forward](const std::vector<at::Tensor>& in) {
      at::NoGradGuard no_grad;
      return forward(in);
    };
  if (engine == "libtorch")
    return [forward](const std::vector<at::Tensor>& in) {
      at::NoGradGuard no_grad;
      layers::LibTorchConvolutions libtorch;
      return forward(in);
    };
  if (engine == "torchscript") {
    auto traced = std::make_shared<TorchScriptModel>(*model.module, forward, inputs);
    return [traced](const std::vector<at::Tensor>& in) { return traced->run(in); };
  }
  if (is_fast(engine)) {
    engine::CompileOptions compile_options;
    compile_options.take_weights = options.take_weights;
    if (engine == "fast-bf16") compile_options.precision = engine::Precision::kBFloat16;
    if (engine == "fast-int8") {
      std::vector<IntList> sizes;
      for (const at::Tensor& x : inputs) sizes.push_back(x.sizes().vec());
      compile_options.precision = engine::Precision::kInt8;
      compile_options.progress = options.progress;
      compile_options.calibration = options.calibration.empty()
                                        ? random_calibration_sets(sizes, options.calibration_sets)
                                        : calibration_sets("bench", options.calibration, sizes);
    }
    auto plan = std::make_shared<engine::Plan>(engine::compile(*model.module, forward, inputs, compile_options));
    fast_plan = plan;
    return [plan](const std::vector<at::Tensor>& in) { return plan->run(in); };
  }
  throw Error("unknown engine '" + engine + "'");
}

double max_abs_diff(const std::vector<at::Tensor>& a, const std::vector<at::Tensor>& b) {
  if (a.size() != b.size()) return INFINITY;
  double worst = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i].sizes() != b[i].sizes()) return INFINITY;
    if (a[i].numel()) worst = std::max(worst, (a[i].to(at::kDouble) - b[i].to(at::kDouble)).abs().max().item<double>());
  }
  return worst;
}

double peak_rss_mb() {
  struct rusage usage {};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_maxrss) / 1024.0;  // Linux reports KiB
}

// Each step's least time over `runs` profiled runs.
std::vector<ProfileRow> profile_steps(const engine::Plan& plan, const std::vector<at::Tensor>& inputs, int64_t runs) {
  std::vector<ProfileRow> rows;
  std::vector<engine::StepTime> times;
  for (int64_t run = 0; run < runs; ++run) {
    plan.run_profiled(inputs, times);
    if (rows.empty())
      for (const engine::StepTime& t : times) rows.push_back({t.text, t.flop, t.ms});
    for (size_t k = 0; k < rows.size() && k < times.size(); ++k) rows[k].min_ms = std::min(rows[k].min_ms, times[k].ms);
  }
  return rows;
}

// A reduced-precision engine against eager f32 on `count` seeded inputs (seeds 1000, 1001, ...).
Agreement agreement(const std::string& engine, const Runner& reduced, const Forward& f32,
                    const std::vector<IntList>& sizes, int64_t count, c10::Device device, Progress::Style style) {
  Agreement a;
  a.engine = engine;
  a.inputs = count;
  Progress progress(engine + " agreement", count, style);
  at::NoGradGuard no_grad;
  for (int64_t k = 0; k < count; ++k) {
    at::Generator generator = at::detail::createCPUGenerator(static_cast<uint64_t>(1000 + k));
    std::vector<at::Tensor> in;
    for (const IntList& size : sizes) in.push_back(at::randn(size, generator).to(device));
    const std::vector<at::Tensor> expected = f32(in), got = reduced(in);
    for (size_t o = 0; o < expected.size() && o < got.size(); ++o) {
      const at::Tensor e = expected[o].to(at::kDouble), q = got[o].to(at::kDouble);
      const double range = e.abs().max().item<double>();
      if (range > 0) a.max_rel_error = std::max(a.max_rel_error, (q - e).abs().max().item<double>() / range);
      if (e.dim() == 2 && e.size(1) > 1) {
        a.rows += e.size(0);
        a.top1_agree += (e.argmax(1) == q.argmax(1)).sum().item<int64_t>();
      }
    }
    progress.step();
  }
  progress.finish();
  return a;
}

}  // namespace

const std::vector<std::string>& bench_engines() {
  static const std::vector<std::string> engines = {"eager", "libtorch", "torchscript", "fast", "fast-int8", "fast-bf16"};
  return engines;
}

double EngineResult::min_ms() const { return times_ms.empty() ? 0 : *std::min_element(times_ms.begin(), times_ms.end()); }

double EngineResult::median_ms() const {
  if (times_ms.empty()) return 0;
  std::vector<double> t = times_ms;
  std::sort(t.begin(), t.end());
  const size_t n = t.size();
  return n % 2 ? t[n / 2] : (t[n / 2 - 1] + t[n / 2]) / 2;
}

BenchResult bench(const models::Model& model, const BenchOptions& options) {
  if (options.runs < 1) throw Error("bench: --runs must be at least 1, got " + std::to_string(options.runs));
  if (options.warmup < 0) throw Error("bench: --warmup must be 0 or more, got " + std::to_string(options.warmup));
  for (const std::string& e : options.engines)
    if (std::find(bench_engines().begin(), bench_engines().end(), e) == bench_engines().end())
      throw Error("bench: unknown engine '" + e + "' (engines: eager, libtorch, torchscript, fast, fast-int8, fast-bf16)");
  const auto has = [&](const char* e) {
    return std::find(options.engines.begin(), options.engines.end(), e) != options.engines.end();
  };
  const bool any_fast = std::any_of(options.engines.begin(), options.engines.end(), is_fast);
  if (options.profile && !any_fast)
    throw Error("bench: --profile profiles the fast engine: add fast, fast-int8 or fast-bf16 to --engine");
  if (options.take_weights && (options.engines.size() != 1 || !any_fast))
    throw Error("bench: only the fast engine, alone, can take the model's weights");
  if (!options.calibration.empty() && !has("fast-int8"))
    throw Error("bench: --calibration is for fast-int8: add it to --engine");
  if (options.agreement_inputs < 0 || options.calibration_sets < 1)
    throw Error("bench: --agreement-inputs must be 0 or more and the calibration sets 1 or more");
  if (options.agreement_inputs > 0 && ((!has("fast-int8") && !has("fast-bf16")) || options.take_weights))
    throw Error("bench: --agreement-inputs compares fast-int8 or fast-bf16 with eager f32: add one to --engine");
  const Target target = find_target(model, options.entry);

  BenchResult result;
  result.model = model.name;
  result.entry = target.name;
  result.input_sizes = options.input_sizes.empty() ? target.example_input_sizes : options.input_sizes;
  result.threads = at::get_num_threads();
  result.warmup = options.warmup;

  c10::Device device(c10::kCPU);
  for (const at::Tensor& p : model.module->parameters()) {
    device = p.device();
    break;
  }
  const auto synchronize = [&] {
    if (device.is_cuda()) torch::cuda::synchronize(device.index());
  };
  at::manual_seed(0);
  std::vector<at::Tensor> inputs;
  for (const IntList& size : result.input_sizes)
    for (int64_t d : size)
      if (d <= 0) throw Error(model.name + ": input sizes must be positive, got " + sizes_text(size));
  check_forward_memory(model.name, *model.module, target.forward, result.input_sizes);
  for (const IntList& size : result.input_sizes) inputs.push_back(at::randn(size).to(device));
  try {
    const TrimHeapAfterEachOp trim;  // counting FLOPs must not set the process's peak memory
    result.gflop = 2.0 * static_cast<double>(summarize(*model.module, target.forward, inputs).totals.total_mult_adds) / 1e9;
  } catch (const c10::Error& e) {
    throw cannot_run(model.name, result.input_sizes, e);
  }

  std::vector<Runner> runners;
  std::shared_ptr<engine::Plan> fast_plan, profiled_plan;
  for (const std::string& engine : options.engines) {
    EngineResult r;
    r.engine = engine;
    const Clock::time_point start = Clock::now();
    try {
      runners.push_back(make_runner(engine, model, target.forward, inputs, options, fast_plan));
      if (is_fast(engine) && fast_plan) {
        const engine::PlanMemory m = fast_plan->memory();
        r.memory_mb = static_cast<double>(m.arena_bytes + m.scratchpad_bytes + m.weight_bytes) / (1024.0 * 1024.0);
        if (!profiled_plan) profiled_plan = fast_plan;
      }
    } catch (const Error& e) {
      r.error = e.what();
      runners.emplace_back();
    } catch (const c10::Error& e) {
      r.error = first_line(e.what_without_backtrace());
      runners.emplace_back();
    }
    r.setup_ms = ms_since(start);
    result.results.push_back(std::move(r));
  }

  const int64_t working = std::count_if(runners.begin(), runners.end(), [](const Runner& r) { return bool(r); });
  Progress progress("bench " + model.name, (options.warmup + options.runs) * working, options.progress);
  std::vector<std::vector<at::Tensor>> reference;
  for (int64_t round = 0; round < options.warmup + options.runs; ++round) {
    for (size_t i = 0; i < runners.size(); ++i) {
      EngineResult& r = result.results[i];
      if (!runners[i]) continue;
      std::vector<at::Tensor> outputs;
      try {
        synchronize();
        const Clock::time_point start = Clock::now();
        outputs = runners[i](inputs);
        synchronize();
        if (round >= options.warmup) r.times_ms.push_back(ms_since(start));
      } catch (const std::exception& e) {
        const auto* c10_error = dynamic_cast<const c10::Error*>(&e);
        r.error = first_line(c10_error ? c10_error->what_without_backtrace() : e.what());
        r.times_ms.clear();
        runners[i] = nullptr;
        continue;
      }
      if (round == 0) {
        if (reference.empty()) reference.push_back(outputs);
        r.max_abs_diff = max_abs_diff(reference[0], outputs);
      }
      progress.step(r.engine);
    }
  }
  progress.finish();
  if (options.agreement_inputs > 0)
    for (size_t q = 0; q < options.engines.size(); ++q)
      if ((options.engines[q] == "fast-int8" || options.engines[q] == "fast-bf16") && runners[q])
        result.agreements.push_back(agreement(options.engines[q], runners[q], target.forward, result.input_sizes,
                                              options.agreement_inputs, device, options.progress));
  if (options.profile && profiled_plan) result.profile = profile_steps(*profiled_plan, inputs, options.runs);
  result.peak_rss_mb = peak_rss_mb();
  result.peak_gflops = fma_peak_gflops(result.threads);
  return result;
}

std::string format_bench_table(const BenchResult& r) {
  std::string s = r.model + (r.entry == "forward" ? "" : " (" + r.entry + ")") + " on " + sizes_text(r.input_sizes) +
                  ": " + std::to_string(r.threads) + " thread" + (r.threads == 1 ? "" : "s") + ", " +
                  python_fixed(r.gflop, 2) + " GFLOP per run, " + std::to_string(r.results.empty() ? 0 : r.results[0].times_ms.size()) +
                  " runs after " + std::to_string(r.warmup) + " warm-up, engines interleaved\n";
  char line[512];
  std::snprintf(line, sizeof line, "%-12s %10s %10s %10s %10s %7s %10s %11s %10s\n", "engine", "setup ms", "min ms",
                "median ms", "GFLOP/s", "% peak", "vs first", "max |diff|", "memory MB");
  s += line;
  double base = 0;
  for (const EngineResult& e : r.results) {
    if (!e.error.empty()) {
      s += e.engine + std::string(e.engine.size() < 12 ? 12 - e.engine.size() : 1, ' ') + " error: " + e.error + "\n";
      continue;
    }
    if (base == 0) base = e.median_ms();
    const double gflops = e.min_ms() > 0 ? r.gflop / (e.min_ms() / 1e3) : 0.0;
    std::snprintf(line, sizeof line, "%-12s %10.1f %10.2f %10.2f %10.1f %7.1f %10.2f %11.2g %10s\n", e.engine.c_str(),
                  e.setup_ms, e.min_ms(), e.median_ms(), gflops, r.peak_gflops > 0 ? 100 * gflops / r.peak_gflops : 0.0,
                  base > 0 ? e.median_ms() / base : 0.0, e.max_abs_diff,
                  e.memory_mb > 0 ? python_fixed(e.memory_mb, 1).c_str() : "-");
    s += line;
  }
  std::snprintf(line, sizeof line, "GFLOP/s and %% of peak at the minimum; peak %.1f GFLOP/s (measured FMA throughput at %d thread%s); peak RSS %.0f MB\n",
                r.peak_gflops, r.threads, r.threads == 1 ? "" : "s", r.peak_rss_mb);
  s += line;
  for (const Agreement& a : r.agreements) {
    s += a.engine + " against eager f32 on " + std::to_string(a.inputs) + " seeded inputs: ";
    if (a.rows > 0)
      s += "top-1 agreement " + std::to_string(a.top1_agree) + "/" + std::to_string(a.rows) + " (" +
           python_fixed(100.0 * static_cast<double>(a.top1_agree) / static_cast<double>(a.rows), 1) + "%), ";
    std::snprintf(line, sizeof line, "max |diff| %.3g of the output's range\n", a.max_rel_error);
    s += line;
  }
  if (!r.profile.empty()) s += format_profile_table(r);
  return s;
}

std::string format_profile_table(const BenchResult& r) {
  double total = 0, flop = 0;
  for (const ProfileRow& p : r.profile) {
    total += p.min_ms;
    flop += p.flop;
  }
  std::string s = "\nfast engine, per step (least of the profiled runs):\n";
  char line[512];
  std::snprintf(line, sizeof line, "%4s %9s %6s %9s %7s  %s\n", "#", "ms", "%time", "GFLOP/s", "% peak", "step");
  s += line;
  for (size_t k = 0; k < r.profile.size(); ++k) {
    const ProfileRow& p = r.profile[k];
    const double gflops = p.min_ms > 0 && p.flop > 0 ? p.flop / 1e9 / (p.min_ms / 1e3) : 0.0;
    std::snprintf(line, sizeof line, "%4zu %9.3f %6.1f %9s %7s  %s\n", k, p.min_ms, total > 0 ? 100 * p.min_ms / total : 0.0,
                  gflops > 0 ? python_fixed(gflops, 1).c_str() : "-",
                  gflops > 0 && r.peak_gflops > 0 ? python_fixed(100 * gflops / r.peak_gflops, 1).c_str() : "-",
                  p.step.c_str());
    s += line;
  }
  std::snprintf(line, sizeof line, "     %9.3f ms in %zu steps, %.1f GFLOP/s over the convolutions' %.2f GFLOP\n", total,
                r.profile.size(), total > 0 ? flop / 1e9 / (total / 1e3) : 0.0, flop / 1e9);
  return s + line;
}

std::string format_bench_json(const BenchResult& r) {
  nlohmann::json results = nlohmann::json::array();
  for (const EngineResult& e : r.results) {
    if (!e.error.empty()) {
      results.push_back({{"engine", e.engine}, {"error", e.error}});
      continue;
    }
    results.push_back({{"engine", e.engine},
                       {"min_ms", e.min_ms()},
                       {"median_ms", e.median_ms()},
                       {"runs", e.times_ms.size()},
                       {"gflops", e.min_ms() > 0 ? r.gflop / (e.min_ms() / 1e3) : 0.0},
                       {"pct_peak", e.min_ms() > 0 && r.peak_gflops > 0 ? 100 * r.gflop / (e.min_ms() / 1e3) / r.peak_gflops : 0.0},
                       {"peak_mem_mb", e.memory_mb},
                       {"setup_ms", e.setup_ms},
                       {"max_abs_diff", e.max_abs_diff}});
  }
  nlohmann::json out = {{"model", r.model},   {"entry", r.entry},   {"input_sizes", r.input_sizes},
                        {"threads", r.threads}, {"warmup", r.warmup}, {"gflop", r.gflop},
                        {"results", results},   {"peak_rss_mb", r.peak_rss_mb}, {"peak_gflops", r.peak_gflops}};
  if (!r.profile.empty()) {
    nlohmann::json rows = nlohmann::json::array();
    for (const ProfileRow& p : r.profile) rows.push_back({{"step", p.step}, {"flop", p.flop}, {"min_ms", p.min_ms}});
    out["profile"] = rows;
  }
  if (!r.agreements.empty()) {
    nlohmann::json rows = nlohmann::json::array();
    for (const Agreement& a : r.agreements)
      rows.push_back({{"engine", a.engine}, {"inputs", a.inputs}, {"rows", a.rows}, {"top1_agree", a.top1_agree},
                      {"max_rel_error", a.max_rel_error}});
    out["agreement"] = rows;
  }
  return out.dump(2);
}

}  // namespace reskit::tasks
