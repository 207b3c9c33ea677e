// reskit demo: the guided tour. Builds every registered model, runs it on
// seeded random input of its example size, and prints what came out.
#include <ATen/ATen.h>
#include <torch/csrc/autograd/grad_mode.h>
#include <torch/cuda.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <iostream>

#include "cli_args.h"
#include "commands.h"
#include "reskit/core/error.h"
#include "reskit/core/text_format.h"
#include "reskit/core/threads.h"
#include "reskit/models/registry.h"
#include "reskit/tasks/model_setup.h"

namespace reskit::cli {
namespace {

constexpr int kTimedRuns = 3;  // after the first pass; the median is shown

}  // namespace

int cmd_demo(const Args& argv) {
  const Command command("demo", "reskit demo [--only NAME ...] [--device DEVICE]",
                        "Builds each registered model with its default options, runs one forward pass on "
                        "seeded random input and prints shapes, parameter counts and timings: building, the first pass (which "
                        "also creates oneDNN's kernels) and the median of the next three.",
                        {{"only", "NAME", "just this model", true},
                         {"device", "DEVICE", "cpu (default), cuda or cuda:N"},
                         {"threads", "N", "intra-op threads (default: the CPUs this process may use)"}});
  ParsedArgs args = command.parse(argv, 0);
  if (args.help) {
    std::cout << command.help_text();
    return 0;
  }
  std::vector<std::string> names = args.all("only");
  if (names.empty())
    for (const auto& s : models::registry()) names.push_back(s.name);
  for (const std::string& n : names) models::find_model(n);  // unknown names fail before any work
  const c10::Device device = tasks::select_device(args.get("device", "cpu"));
  set_threads(thread_count(args));
  // CUDA runs asynchronously: a timing is only taken once the device is done.
  auto synchronize = [&] {
    if (device.is_cuda()) torch::cuda::synchronize(device.index());
  };

  std::cout << "reskit demo: " << names.size() << " models on " << device.str() << ", eval mode, no-grad, "
            << at::get_num_threads() << " threads\n\n";
  std::printf("%-22s %14s  %-22s %-28s %9s %9s %9s\n", "model", "params", "input", "output", "build ms", "first ms",
              "run ms");
  std::cout << std::flush;
  const auto ms = [](auto a, auto b) { return std::chrono::duration<double, std::milli>(b - a).count(); };
  for (const std::string& name : names) {
    const models::ModelSpec& spec = models::find_model(name);
    at::manual_seed(0);
    auto t0 = std::chrono::steady_clock::now();
    models::Model model = models::build_model(models::default_options(name));
    model.module->to(device);
    model.module->eval();
    std::vector<at::Tensor> inputs;
    std::string in_text;
    for (const IntList& size : spec.example_input_sizes) {
      inputs.push_back(at::randn(size).to(device));
      in_text += (in_text.empty() ? "" : ",") + sizes_text(size);
    }
    synchronize();
    auto t1 = std::chrono::steady_clock::now();
    // The first pass also creates oneDNN's kernels for these shapes; the runs
    // after it are what a model serving many inputs costs: their median.
    std::vector<at::Tensor> outputs;
    std::vector<double> run_ms;
    double first_ms = 0;
    {
      torch::NoGradGuard no_grad;
      for (int run = 0; run < 1 + kTimedRuns; ++run) {
        const auto start = std::chrono::steady_clock::now();
        outputs = model.forward(inputs);
        synchronize();
        const double took = ms(start, std::chrono::steady_clock::now());
        if (run == 0)
          first_ms = took;
        else
          run_ms.push_back(took);
      }
    }
    std::sort(run_ms.begin(), run_ms.end());
    std::string out_text;
    for (const at::Tensor& o : outputs) out_text += (out_text.empty() ? "" : ",") + sizes_text(o.sizes().vec());
    int64_t params = 0;
    for (const auto& p : model.module->parameters()) params += p.numel();
    std::printf("%-22s %14s  %-22s %-28s %9.1f %9.1f %9.1f\n", name.c_str(), with_commas(params).c_str(),
                in_text.c_str(), out_text.c_str(), ms(t0, t1), first_ms, run_ms[run_ms.size() / 2]);
    std::cout << std::flush;
  }
  std::cout << "\nNext: `reskit models` for options, `reskit run MODEL --input x.npy --out DIR` for one pass,\n"
               "`reskit classify resnet50 --weights resnet50.pth image.jpg` with torchvision weights.\n";
  return 0;
}

}  // namespace reskit::cli
