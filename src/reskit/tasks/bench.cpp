#include "reskit/tasks/bench.h"

#include <ATen/ATen.h>
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
#include "reskit/core/text_format.h"
#include "reskit/layers/conv.h"
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

Runner make_runner(const std::string& engine, const models::Model& model, const Forward& forward,
                   const std::vector<at::Tensor>& inputs) {
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
  if (engine == "fast") {
    auto plan = std::make_shared<engine::Plan>(engine::compile(*model.module, forward, inputs));
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

}  // namespace

const std::vector<std::string>& bench_engines() {
  static const std::vector<std::string> engines = {"eager", "libtorch", "torchscript", "fast"};
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
      throw Error("bench: unknown engine '" + e + "' (engines: eager, libtorch, torchscript, fast)");
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
    result.gflop = 2.0 * static_cast<double>(summarize(*model.module, target.forward, inputs).totals.total_mult_adds) / 1e9;
  } catch (const c10::Error& e) {
    throw cannot_run(model.name, result.input_sizes, e);
  }

  std::vector<Runner> runners;
  for (const std::string& engine : options.engines) {
    EngineResult r;
    r.engine = engine;
    const Clock::time_point start = Clock::now();
    try {
      runners.push_back(make_runner(engine, model, target.forward, inputs));
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
  result.peak_rss_mb = peak_rss_mb();
  return result;
}

std::string format_bench_table(const BenchResult& r) {
  std::string s = r.model + (r.entry == "forward" ? "" : " (" + r.entry + ")") + " on " + sizes_text(r.input_sizes) +
                  ": " + std::to_string(r.threads) + " thread" + (r.threads == 1 ? "" : "s") + ", " +
                  python_fixed(r.gflop, 2) + " GFLOP per run, " + std::to_string(r.results.empty() ? 0 : r.results[0].times_ms.size()) +
                  " runs after " + std::to_string(r.warmup) + " warm-up, engines interleaved\n";
  char line[256];
  std::snprintf(line, sizeof line, "%-12s %10s %10s %10s %10s %10s %11s\n", "engine", "setup ms", "min ms", "median ms",
                "GFLOP/s", "vs first", "max |diff|");
  s += line;
  double base = 0;
  for (const EngineResult& e : r.results) {
    if (!e.error.empty()) {
      s += e.engine + std::string(e.engine.size() < 12 ? 12 - e.engine.size() : 1, ' ') + " error: " + e.error + "\n";
      continue;
    }
    if (base == 0) base = e.median_ms();
    std::snprintf(line, sizeof line, "%-12s %10.1f %10.2f %10.2f %10.1f %10.2f %11.2g\n", e.engine.c_str(), e.setup_ms,
                  e.min_ms(), e.median_ms(), e.median_ms() > 0 ? r.gflop / (e.median_ms() / 1e3) : 0.0,
                  base > 0 ? e.median_ms() / base : 0.0, e.max_abs_diff);
    s += line;
  }
  std::snprintf(line, sizeof line, "peak RSS %.0f MB\n", r.peak_rss_mb);
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
                       {"gflops", e.median_ms() > 0 ? r.gflop / (e.median_ms() / 1e3) : 0.0},
                       {"setup_ms", e.setup_ms},
                       {"max_abs_diff", e.max_abs_diff}});
  }
  nlohmann::json out = {{"model", r.model},   {"entry", r.entry},   {"input_sizes", r.input_sizes},
                        {"threads", r.threads}, {"warmup", r.warmup}, {"gflop", r.gflop},
                        {"results", results},   {"peak_rss_mb", r.peak_rss_mb}};
  return out.dump(2);
}

}  // namespace reskit::tasks
