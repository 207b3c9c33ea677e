// The command line's contract: exit status, one-line errors that name the
// problem, no partial output, the registry and sidecars.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <torch/csrc/autograd/grad_mode.h>
#include <torch/cuda.h>

#include "reskit/engine/plan.h"
#include "reskit/io/npy.h"
#include "reskit/models/registry.h"
#include "reskit/tasks/model_setup.h"
#include "test_util.h"

namespace reskit {
namespace {

namespace fs = std::filesystem;
using test::run_reskit;

const std::string kInput = test::fixture("npy/image_input.npy");

// A failed command: status 1, exactly one line on stderr, and `dir` holds no file.
void expect_failure(const std::string& args, const std::string& message, const std::string& dir = "") {
  auto r = run_reskit(args);
  EXPECT_EQ(r.status, 1) << args;
  EXPECT_EQ(r.err, "reskit: " + message + "\n") << args;
  if (!dir.empty() && fs::exists(dir)) EXPECT_TRUE(fs::is_empty(dir)) << "partial output left in " << dir;
}

TEST(Cli, UnknownCommandAndUsage) {
  auto r = run_reskit("frobnicate");
  EXPECT_EQ(r.status, 2);
  EXPECT_EQ(r.err, "reskit: unknown command 'frobnicate' (see reskit --help)\n");
  r = run_reskit("--help");
  EXPECT_EQ(r.status, 0);
  EXPECT_NE(r.out.find("run "), std::string::npos);
  r = run_reskit("run --help");
  EXPECT_EQ(r.status, 0);
  EXPECT_NE(r.out.find("--input FILE.npy"), std::string::npos);
}

TEST(Cli, UnknownModelListsKnownOnes) {
  auto r = run_reskit("run resnet51 --input " + kInput + " --out x");
  EXPECT_EQ(r.status, 1);
  EXPECT_EQ(r.err.rfind("reskit: unknown model 'resnet51' (known: resnet18, resnet34, ", 0), 0u) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1);
}

TEST(Cli, OptionErrorsNameTheOption) {
  const std::string dir = test::temp_dir("cli_opts");
  const std::string io = " --input " + kInput + " --out " + dir;
  expect_failure("run resnet18 --set depth=3" + io,
                 "resnet18: unknown option 'depth' (options: num_classes, zero_init_residual, groups, "
                 "width_per_group, replace_stride_with_dilation, features)",
                 dir);
  expect_failure("run resnet18 --set num_classes=ten" + io,
                 "resnet18: option 'num_classes' expects an integer, got 'ten'", dir);
  expect_failure("run resnet18 --set features=maybe" + io, "resnet18: option 'features' expects true or false, got 'maybe'",
                 dir);
  expect_failure("run resnet50 --set replace_stride_with_dilation=0,1" + io,
                 "replace_stride_with_dilation should be None or a 3-element tuple, got 2 values", dir);
  expect_failure("run resnet50 --set replace_stride_with_dilation=0,2,1" + io,
                 "resnet50: option 'replace_stride_with_dilation' takes 0 or 1 per entry, got 2", dir);
  expect_failure("run resnet18 --threads 0" + io, "--threads expects 1 to 4096, got '0'", dir);
  expect_failure("run resnet50 --set replace_stride_with_dilation=0,x,1" + io,
                 "resnet50: option 'replace_stride_with_dilation' expects a comma-separated list of integers, got '0,x,1'",
                 dir);
  expect_failure("run resnet18 --set num_classes" + io, "resnet18: --set expects KEY=VALUE, got 'num_classes'", dir);
  expect_failure("run resnet18 --set groups=2" + io, "BasicBlock only supports groups=1 and base_width=64", dir);
  expect_failure("run resnet18 --frobnicate" + io, "run: unknown option '--frobnicate' (see reskit run --help)", dir);
  expect_failure("run resnet18 --engine turbo" + io, "run: --engine expects eager or fast, got 'turbo'", dir);
  expect_failure("run resnet18 --device tpu" + io, "bad device 'tpu' (expected cpu, cuda or cuda:N)", dir);
  expect_failure("run resnet18 --device cuda:x" + io, "bad device 'cuda:x' (expected cpu, cuda or cuda:N)", dir);
  if (torch::cuda::is_available()) {
    expect_failure("run resnet18 --device cuda:99" + io,
                   "device 'cuda:99' requested but only " + std::to_string(torch::cuda::device_count()) +
                       " CUDA device(s) are visible",
                   dir);
  } else {
    expect_failure("run resnet18 --device cuda" + io,
                   "device 'cuda' requested but CUDA is not available (this LibTorch has no CUDA or no GPU is visible)",
                   dir);
  }
  fs::remove_all(dir);
}

TEST(Cli, ConfigFileSetsOptionsAndErrorsNameTheFile) {
  const std::string dir = test::temp_dir("cli_config");
  const std::string out = dir + "/out";
  std::ofstream(dir + "/good.json") << R"({"num_classes": 7, "replace_stride_with_dilation": [0, 0, 1]})";
  auto r = run_reskit("run resnet50 --config " + dir + "/good.json --input " + kInput + " --out " + out);
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(io::read_npy(out + "/out0.npy").sizes(), (std::vector<int64_t>{1, 7}));

  std::ofstream(dir + "/bad.json") << R"({"num_classes": 7,)";
  r = run_reskit("run resnet50 --config " + dir + "/bad.json --input " + kInput + " --out " + out);
  EXPECT_EQ(r.status, 1);
  EXPECT_EQ(r.err.rfind("reskit: " + dir + "/bad.json: malformed JSON", 0), 0u) << r.err;
  std::ofstream(dir + "/wrong_type.json") << R"({"num_classes": "seven"})";
  expect_failure("run resnet50 --config " + dir + "/wrong_type.json --input " + kInput + " --out " + out,
                 dir + "/wrong_type.json: option 'num_classes' expects int, got \"seven\"");
  std::ofstream(dir + "/unknown.json") << R"({"colour": 1})";
  r = run_reskit("run resnet50 --config " + dir + "/unknown.json --input " + kInput + " --out " + out);
  EXPECT_EQ(r.err.rfind("reskit: resnet50: unknown option 'colour'", 0), 0u) << r.err;
  fs::remove_all(dir);
}

TEST(Cli, InputsTheModelCannotTakeAreOneLineErrors) {
  const std::string dir = test::temp_dir("cli_inputs");
  auto r = run_reskit("run resnet18 --input " + test::fixture("npy/gray_input.npy") + " --out " + dir);
  EXPECT_EQ(r.status, 1);
  EXPECT_EQ(r.err.rfind("reskit: resnet18: cannot run on input 1x1x64x64: ", 0), 0u) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_TRUE(fs::is_empty(dir));
  r = run_reskit("run resnet18 --input " + test::fixture("npy/rank3_input.npy") + " --out " + dir);
  EXPECT_EQ(r.status, 1);
  EXPECT_EQ(r.err.rfind("reskit: resnet18: cannot run on input 3x64x64: ", 0), 0u) << r.err;
  expect_failure("run resnet18 --input " + kInput + " --input " + kInput + " --out " + dir,
                 "resnet18: expects 1 input, got 2", dir);
  expect_failure("run resnet18 --input " + test::fixture("npy/i8.npy") + " --out " + dir,
                 "'" + test::fixture("npy/i8.npy") + "': unsupported dtype '<i8' (reskit reads <f4 and <f8)", dir);
  expect_failure("run resnet18 --out " + dir, "run: at least one --input FILE.npy is required", dir);
  expect_failure("run resnet18 --input " + kInput, "run: --out DIR is required");
  fs::remove_all(dir);
}

TEST(Cli, ModelsListsEveryRegistryEntry) {
  auto r = run_reskit("models");
  ASSERT_EQ(r.status, 0);
  for (const auto& spec : models::registry()) EXPECT_NE(r.out.find(spec.name + "  ("), std::string::npos) << spec.name;
  EXPECT_NE(r.out.find("replace_stride_with_dilation=0,0,0"), std::string::npos);
  r = run_reskit("models --format json");
  ASSERT_EQ(r.status, 0);
  EXPECT_NE(r.out.find("\"name\": \"resnext101_64x4d\""), std::string::npos);
  expect_failure("models --format xml", "models: --format expects table or json, got 'xml'");
}

TEST(Cli, SidecarRebuildsTheModelWithoutNamingIt) {
  const std::string dir = test::temp_dir("cli_sidecar");
  Options options = models::default_options("resnet18");
  options.set_from_assignment("num_classes=5");
  at::manual_seed(11);
  models::Model model = models::build_model(options);
  tasks::save_checkpoint(dir + "/r18.pth", model);
  ASSERT_TRUE(fs::exists(dir + "/r18.pth.json"));

  auto r = run_reskit("run --weights " + dir + "/r18.pth --input " + kInput + " --out " + dir + "/a");
  ASSERT_EQ(r.status, 0) << r.err;
  model.module->eval();
  at::Tensor expected;
  {
    torch::NoGradGuard no_grad;
    expected = model.forward({io::read_npy(kInput)})[0];
  }
  EXPECT_TRUE(test::close(io::read_npy(dir + "/a/out0.npy"), expected, 1e-5));
  expect_failure("run --input " + kInput + " --out " + dir + "/b", "no model given (see `reskit models`)");
  fs::remove_all(dir);
}

// --engine fast gives eager's outputs (CONTRACT.md: 1e-3 of the range is
// the floor; the project holds 1e-4), as files of the same names.
TEST(Cli, RunWithTheFastEngineMatchesEager) {
  const std::string dir = test::temp_dir("cli_fast");
  for (const char* engine : {"eager", "fast"}) {
    const auto r = run_reskit(std::string("run resnet18 --set num_classes=7 --seed 3 --engine ") + engine +
                              " --input " + kInput + " --out " + dir + "/" + engine);
    ASSERT_EQ(r.status, 0) << engine << ": " << r.err;
  }
  EXPECT_TRUE(test::close(io::read_npy(dir + "/fast/out0.npy"), io::read_npy(dir + "/eager/out0.npy"), 1e-4));
  fs::remove_all(dir);
}

// --precision int8: calibrated on the samples given, within what 8 bits
// allow of eager f32, and refused with one line where it cannot run.
TEST(Cli, RunInInt8IsCalibratedAndCloseToEager) {
  const std::string dir = test::temp_dir("cli_int8");
  const at::Tensor x = io::read_npy(kInput);
  {
    torch::manual_seed(2);
    std::ofstream out(dir + "/calib.npy", std::ios::binary);
    io::write_npy(out, at::cat({x, x * 0.5 + 0.1 * torch::randn_like(x), torch::randn({3, 3, 64, 64})}));
  }
  const std::string model = "run resnet18 --set num_classes=7 --seed 3 --input " + kInput;
  auto r = run_reskit(model + " --engine eager --out " + dir + "/eager");
  ASSERT_EQ(r.status, 0) << r.err;
  r = run_reskit(model + " --engine fast --precision int8 --calibration " + dir + "/calib.npy --out " + dir + "/int8");
  ASSERT_EQ(r.status, 0) << r.err;
  const at::Tensor eager = io::read_npy(dir + "/eager/out0.npy"), int8 = io::read_npy(dir + "/int8/out0.npy");
  const double error = (int8 - eager).abs().max().item<double>() / eager.abs().max().item<double>();
  EXPECT_GT(error, 1e-6) << "no quantisation happened";
  EXPECT_LT(error, 0.05);

  expect_failure(model + " --engine fast --precision int8 --out " + dir + "/b",
                 "run: --precision int8 needs --calibration FILE.npy (samples for each input)", dir + "/b");
  expect_failure(model + " --precision int8 --calibration " + dir + "/calib.npy --out " + dir + "/b",
                 "run: --precision int8 needs --engine fast", dir + "/b");
  expect_failure(model + " --engine fast --calibration " + dir + "/calib.npy --out " + dir + "/b",
                 "run: --calibration is for --precision int8", dir + "/b");
  expect_failure(model + " --engine fast --precision int8 --calibration " + kInput + " --calibration " + kInput +
                     " --out " + dir + "/b",
                 "resnet18: --calibration gives 2 tensors, the model takes 1 input (one --calibration FILE.npy per input, "
                 "in order)",
                 dir + "/b");
  fs::remove_all(dir);
}

// --precision bf16: close to eager where the CPU has bf16 convolutions, a
// one-line error (and no output) where it has not.
TEST(Cli, RunInBf16IsCloseToEagerOrRefusedInOneLine) {
  const std::string dir = test::temp_dir("cli_bf16");
  const std::string model = "run resnet18 --set num_classes=7 --seed 3 --input " + kInput;
  expect_failure(model + " --precision bf16 --out " + dir + "/b", "run: --precision bf16 needs --engine fast",
                 dir + "/b");
  if (!engine::bf16_supported()) {
    expect_failure(model + " --engine fast --precision bf16 --out " + dir + "/b",
                   "engine: bf16 plans need a CPU with AVX-512 (oneDNN's bf16 convolutions; fast with AVX512_BF16 or "
                   "AMX)",
                   dir + "/b");
    return;
  }
  auto r = run_reskit(model + " --engine eager --out " + dir + "/eager");
  ASSERT_EQ(r.status, 0) << r.err;
  r = run_reskit(model + " --engine fast --precision bf16 --out " + dir + "/bf16");
  ASSERT_EQ(r.status, 0) << r.err;
  const at::Tensor eager = io::read_npy(dir + "/eager/out0.npy"), bf16 = io::read_npy(dir + "/bf16/out0.npy");
  const double error = (bf16 - eager).abs().max().item<double>() / eager.abs().max().item<double>();
  EXPECT_GT(error, 1e-6) << "no rounding happened";
  EXPECT_LT(error, 0.05);
}

// reskit compile shows each pass's graph, the lowered steps with the plan's
// memory, and how far the plan is from eager (1e-4 of the output's range).
TEST(Cli, CompileShowsThePassesTheStepsAndTheDifference) {
  const auto r = run_reskit("compile resnet18 --set num_classes=7 --input-size 1x3x64x64 --dump");
  ASSERT_EQ(r.status, 0) << r.err;
  for (const char* part : {"# after captured", "# after fold_batch_norm", "# after lowered", " steps:\n", "  arena "})
    EXPECT_NE(r.out.find(part), std::string::npos) << part << " missing from:\n" << r.out;
  EXPECT_EQ(r.out.find("aten::batch_norm", r.out.find("# after fold_batch_norm")), std::string::npos)
      << "a BatchNorm is left after folding";
  const size_t at = r.out.find("out0 1x7: max |fast - eager| ");
  ASSERT_NE(at, std::string::npos) << r.out;
  const size_t open = r.out.find('(', at);
  EXPECT_LE(std::stod(r.out.substr(open + 1)), 1e-4) << r.out.substr(at);
}

TEST(Cli, DemoRunsEveryModel) {
  auto r = run_reskit("demo --tour --only resnet18 --only resnext50_32x4d");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("resnet18"), std::string::npos);
  int64_t params = 0;
  for (const auto& p : models::build_model(models::default_options("resnet18")).module->parameters()) params += p.numel();
  std::string with_commas = std::to_string(params);
  for (int i = static_cast<int>(with_commas.size()) - 3; i > 0; i -= 3) with_commas.insert(i, ",");
  EXPECT_NE(r.out.find(with_commas), std::string::npos) << with_commas;
  EXPECT_NE(r.out.find("1x1000"), std::string::npos);
  expect_failure("demo --only nonet", "unknown model 'nonet' (known: " + [] {
    std::string known;
    for (const auto& s : models::registry()) known += (known.empty() ? "" : ", ") + s.name;
    return known;
  }() + ")");
  expect_failure("demo --only resnet18 --device tpu", "bad device 'tpu' (expected cpu, cuda or cuda:N)");
}

TEST(Cli, VersionNamesTheLibrariesAndTheIsa) {
  const auto r = test::run_reskit("--version");
  ASSERT_EQ(r.status, 0) << r.err;
  for (const char* line : {"reskit ", "\nLibTorch ", "\noneDNN ", "\nOpenCV ", "\nCPU "})
    EXPECT_NE(r.out.find(line), std::string::npos) << line << " in\n" << r.out;
  EXPECT_EQ(r.out.back(), '\n');
}

// Every command's help ends its last line, and every command that runs a
// model takes --threads.
TEST(Cli, HelpEndsWithANewlineAndModelCommandsTakeThreads) {
  for (const std::string command : {"run", "summary", "print", "classify", "bench", "models", "demo"}) {
    const auto r = test::run_reskit(command + " --help");
    ASSERT_EQ(r.status, 0) << command;
    ASSERT_FALSE(r.out.empty()) << command;
    EXPECT_EQ(r.out.back(), '\n') << command;
    if (command != "models" && command != "print")
      EXPECT_NE(r.out.find("--threads N"), std::string::npos) << command;
  }
}

// A checkpoint reskit saves for a model with nested options rebuilds it.
TEST(Cli, SidecarKeepsNestedOptions) {
  const std::string dir = test::temp_dir("cli_nested_sidecar");
  at::manual_seed(5);
  models::Model model = test::build("i3d_r50", {"backbone.depth=18", "backbone.inflate=1", "num_classes=3"});
  tasks::save_checkpoint(dir + "/i3d.pth", model);
  const std::string clip = dir + "/clip.npy";
  io::save_npy(clip, at::randn({1, 3, 8, 32, 32}));
  const auto r = test::run_reskit("run --weights " + dir + "/i3d.pth --input " + clip + " --out " + dir + "/out");
  ASSERT_EQ(r.status, 0) << r.err;
  model.module->eval();
  torch::NoGradGuard no_grad;
  EXPECT_TRUE(test::close(io::read_npy(dir + "/out/out0.npy"), model.forward({io::read_npy(clip)})[0], 1e-5));
  fs::remove_all(dir);
}

}  // namespace
}  // namespace reskit
