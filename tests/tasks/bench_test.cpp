// `reskit bench` and its engines: every engine's answers agree with eager,
// the figures are the ones CONTRACT.md names, entry points are timed by
// name, and errors are one line.
#include <gtest/gtest.h>
#include <torch/csrc/autograd/grad_mode.h>

#include <nlohmann/json.hpp>

#include "reskit/engine/plan.h"
#include "reskit/tasks/bench.h"
#include "reskit/tasks/summary.h"
#include "reskit/tasks/torchscript.h"
#include "test_util.h"

namespace reskit {
namespace {

double max_abs(const std::vector<at::Tensor>& outputs) {
  double m = 0;
  for (const at::Tensor& t : outputs) m = std::max(m, t.abs().max().item<double>());
  return m;
}

TEST(Bench, EnginesAgreeAndReportTheirFigures) {
  at::manual_seed(0);
  models::Model model = test::build("resnet18", {"num_classes=10"});
  model.module->eval();
  tasks::BenchOptions options;
  options.engines = {"eager", "libtorch", "torchscript", "fast"};
  options.runs = 3;
  options.warmup = 1;
  options.input_sizes = {{1, 3, 32, 32}};
  const tasks::BenchResult r = tasks::bench(model, options);
  ASSERT_EQ(r.results.size(), 4u);
  at::manual_seed(0);  // the inputs bench made
  torch::NoGradGuard no_grad;
  const double scale = max_abs(model.forward({at::randn({1, 3, 32, 32})}));
  for (size_t i = 0; i < 4; ++i) {
    const tasks::EngineResult& e = r.results[i];
    EXPECT_EQ(e.error, "") << e.engine;
    EXPECT_EQ(e.times_ms.size(), 3u) << e.engine;
    EXPECT_LE(e.min_ms(), e.median_ms()) << e.engine;
    EXPECT_LE(e.max_abs_diff, 1e-4 * scale) << e.engine << " disagrees with eager";
  }
  EXPECT_EQ(r.results[3].engine, "fast");
  const int64_t macs = tasks::summarize(model, {{1, 3, 32, 32}}).totals.total_mult_adds;
  EXPECT_DOUBLE_EQ(r.gflop, 2.0 * static_cast<double>(macs) / 1e9);
  EXPECT_GT(r.peak_rss_mb, 0);
}

// --profile times each step of the fast engine's plan: the steps' flops are
// the model's convolutions (all of resnet18's but its fc), their times add
// up to about a run, and the plan's memory and the machine's peak are known.
TEST(Bench, ProfileListsTheFastEnginesSteps) {
  models::Model model = test::build("resnet18", {"num_classes=10"});
  model.module->eval();
  tasks::BenchOptions options;
  options.engines = {"fast"};
  options.runs = 2;
  options.warmup = 1;
  options.input_sizes = {{1, 3, 64, 64}};
  options.profile = true;
  const tasks::BenchResult r = tasks::bench(model, options);
  ASSERT_EQ(r.results[0].error, "");
  ASSERT_FALSE(r.profile.empty());
  double flop = 0, ms = 0;
  for (const tasks::ProfileRow& p : r.profile) {
    flop += p.flop;
    ms += p.min_ms;
    EXPECT_FALSE(p.step.empty());
  }
  EXPECT_GT(flop, 0.99 * r.gflop * 1e9);
  EXPECT_LE(flop, r.gflop * 1e9);
  EXPECT_GT(ms, 0);
  EXPECT_GT(r.results[0].memory_mb, 0);
  EXPECT_GT(r.peak_gflops, 0);
  const std::string table = tasks::format_bench_table(r);
  EXPECT_NE(table.find("fast engine, per step"), std::string::npos) << table;
  EXPECT_NE(table.find("conv 7x7/2 3->64"), std::string::npos) << table;
  options.engines = {"eager"};
  EXPECT_EQ(test::error_of([&] { tasks::bench(model, options); }),
            "bench: --profile profiles the fast engine: add fast, fast-int8 or fast-bf16 to --engine");
}

// fast-int8 beside eager: calibrated on seeded inputs, within what 8 bits
// allow, and compared with eager f32 on further inputs of a classifier; bf16
// too, or a one-line error where the CPU has no bf16 convolutions.
TEST(Bench, Int8AndBf16AreTimedBesideEagerAndReportTheirAgreement) {
  models::Model model = test::build("resnet18", {"num_classes=10"});
  model.module->eval();
  tasks::BenchOptions options;
  options.engines = {"eager", "fast-int8", "fast-bf16"};
  options.runs = 2;
  options.warmup = 1;
  options.input_sizes = {{2, 3, 64, 64}};
  options.calibration_sets = 3;
  options.agreement_inputs = 4;
  const tasks::BenchResult r = tasks::bench(model, options);
  ASSERT_EQ(r.results.size(), 3u);
  ASSERT_EQ(r.results[1].error, "");
  const bool bf16 = engine::bf16_supported();
  if (bf16) {
    ASSERT_EQ(r.results[2].error, "");
  } else {
    EXPECT_EQ(r.results[2].error,
              "engine: bf16 plans need a CPU with AVX-512 (oneDNN's bf16 convolutions; fast with AVX512_BF16 or AMX)");
  }
  at::manual_seed(0);  // the inputs bench made
  torch::NoGradGuard no_grad;
  const double scale = max_abs(model.forward({at::randn({2, 3, 64, 64})}));
  for (size_t e = 1; e < (bf16 ? 3u : 2u); ++e) {
    EXPECT_GT(r.results[e].max_abs_diff, 1e-6 * scale) << r.results[e].engine << ": no rounding happened";
    EXPECT_LT(r.results[e].max_abs_diff, 0.05 * scale) << r.results[e].engine;
  }
  ASSERT_EQ(r.agreements.size(), bf16 ? 2u : 1u);
  for (const tasks::Agreement& a : r.agreements) {
    EXPECT_EQ(a.inputs, 4);
    EXPECT_EQ(a.rows, 8);
    EXPECT_GE(a.top1_agree, 0);
    EXPECT_LE(a.top1_agree, 8);
    EXPECT_GT(a.max_rel_error, 0) << a.engine;
    EXPECT_LT(a.max_rel_error, 0.05) << a.engine;
    EXPECT_NE(tasks::format_bench_table(r).find(a.engine + " against eager f32 on 4 seeded inputs: top-1 agreement "),
              std::string::npos);
  }
  EXPECT_EQ(r.agreements[0].engine, "fast-int8");
  EXPECT_NE(tasks::format_bench_json(r).find("\"agreement\""), std::string::npos);
  options.engines = {"eager"};
  EXPECT_EQ(test::error_of([&] { tasks::bench(model, options); }),
            "bench: --agreement-inputs compares fast-int8 or fast-bf16 with eager f32: add one to --engine");
}

// TorchScript's trace, freeze and optimize_for_inference give eager's answers
// on the families the bench table covers, whatever their outputs.
TEST(Bench, TorchScriptMatchesEagerOnEveryFamily) {
  struct Case {
    std::string model;
    std::vector<std::string> sets;
    std::vector<int64_t> input;
  };
  for (const Case& c : std::vector<Case>{{"resnet18", {"features=true"}, {1, 3, 48, 48}},
                                         {"seed_block", {"block=bottleneck", "stride1=2"}, {1, 128, 14, 14}},
                                         {"resnet3d", {"depth=18", "out_indices=0,3"}, {1, 3, 4, 32, 32}},
                                         {"i3d_r50",
                                          {"backbone.depth=18", "backbone.inflate=1", "num_classes=5"},
                                          {2, 3, 8, 32, 32}}}) {
    at::manual_seed(1);
    models::Model model = test::build(c.model, c.sets);
    model.module->eval();
    const std::vector<at::Tensor> x = {at::randn(c.input)};
    tasks::TorchScriptModel traced(*model.module, model.forward, x);
    const std::vector<at::Tensor> ours = traced.run(x);
    torch::NoGradGuard no_grad;
    const std::vector<at::Tensor> eager = model.forward(x);
    ASSERT_EQ(ours.size(), eager.size()) << c.model;
    for (size_t i = 0; i < ours.size(); ++i) EXPECT_TRUE(test::close(ours[i], eager[i], 1e-4)) << c.model << " " << i;
  }
}

TEST(Bench, EntryPointsAreTimedByName) {
  models::Model model = test::build("resnet18", {"num_classes=10"});
  model.module->eval();
  int bound = 0;
  model.entries.push_back({"halves", {"x"}, {{1, 3, 16, 16}}, [&bound]() -> models::Forward {
                             ++bound;  // made once, before any timed run
                             return [](const std::vector<at::Tensor>& in) { return std::vector<at::Tensor>{in[0] / 2}; };
                           }});
  tasks::BenchOptions options;
  options.engines = {"eager"};
  options.runs = 2;
  options.warmup = 0;
  options.entry = "halves";
  const tasks::BenchResult r = tasks::bench(model, options);
  EXPECT_EQ(bound, 1);
  EXPECT_EQ(r.entry, "halves");
  EXPECT_EQ(r.input_sizes, (std::vector<IntList>{{1, 3, 16, 16}}));
  EXPECT_EQ(r.results[0].times_ms.size(), 2u);
  options.entry = "track";
  try {
    tasks::bench(model, options);
    FAIL() << "an unknown entry point was accepted";
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "bench: resnet18 has no entry point 'track' (entry points: forward, halves)");
  }
}

TEST(BenchCli, JsonHasTheContractsFields) {
  const auto r = test::run_reskit(
      "bench resnet18 --set num_classes=10 --input-size 1x3x32x32 --engine eager,torchscript --runs 2 --warmup 1 "
      "--threads 1 --format json --quiet");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.err, "");
  const nlohmann::json j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["model"], "resnet18");
  EXPECT_EQ(j["input_sizes"], nlohmann::json::parse("[[1, 3, 32, 32]]"));
  EXPECT_EQ(j["threads"], 1);
  EXPECT_GT(j["gflop"].get<double>(), 0);
  ASSERT_EQ(j["results"].size(), 2u);
  for (const auto& e : j["results"]) {
    EXPECT_GT(e["min_ms"].get<double>(), 0);
    EXPECT_GE(e["median_ms"].get<double>(), e["min_ms"].get<double>());
    EXPECT_EQ(e["runs"], 2);
    EXPECT_GT(e["gflops"].get<double>(), 0);
    EXPECT_GT(e["pct_peak"].get<double>(), 0);
    EXPECT_TRUE(e.contains("peak_mem_mb"));
  }
  EXPECT_GT(j["peak_gflops"].get<double>(), 0);
  EXPECT_EQ(j["results"][1]["engine"], "torchscript");
}

TEST(BenchCli, TableAndErrors) {
  auto r = test::run_reskit("bench resnet18 --set num_classes=10 --input-size 1x3x32x32 --engine eager --runs 1 --quiet");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("resnet18 on 1x3x32x32: "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\neager "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("peak RSS "), std::string::npos) << r.out;
  const std::vector<std::pair<std::string, std::string>> bad = {
      {"bench resnet18 --engine turbo",
       "bench: unknown engine 'turbo' (engines: eager, libtorch, torchscript, fast, fast-int8, fast-bf16)"},
      {"bench resnet18 --runs 0", "bench: --runs must be at least 1, got 0"},
      {"bench resnet18 --input-size 1x1x32x32",
       "resnet18: cannot run on input 1x1x32x32: "},
  };
  for (const auto& [args, message] : bad) {
    r = test::run_reskit(args + " --quiet");
    EXPECT_EQ(r.status, 1) << args;
    EXPECT_EQ(r.err.rfind("reskit: " + message, 0), 0u) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  }
}

}  // namespace
}  // namespace reskit
