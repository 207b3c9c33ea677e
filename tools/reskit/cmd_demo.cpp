// reskit demo: reskit's main job on embedded data, EncNet learning to
// segment generated street scenes (make-data, train-seg, segment, one after
// the other, as a user would run them), and with --tour the guided tour:
// every registered model built and run on seeded random input.
#include <ATen/ATen.h>
#include <torch/csrc/autograd/grad_mode.h>
#include <torch/cuda.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
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

namespace fs = std::filesystem;

constexpr int kTimedRuns = 3;  // after the first pass; the median is shown

// The demo's EncNet: ResNet-18 and a narrow head, so that it learns within minutes on two cores.
const char* const kDemoModel[] = {"encnet_r50", "--set", "backbone=resnet18", "--set", "head_channels=64",
                                  "--set", "seg_channels=32"};
constexpr const char* kDemoMarker = "reskit_demo.txt";  // says a folder is an earlier demo's, to replace

void run_step(const char* what, int status) {
  if (status != 0) throw Error(std::string("demo: ") + what + " failed (status " + std::to_string(status) + ")");
}

int run_segmentation_demo(const ParsedArgs& args) {
  const fs::path out = args.get("out", "reskit_demo");
  const std::string epochs = std::to_string(args.get_int("epochs", 15));
  const std::string images = std::to_string(args.get_int("images", 64));
  const std::string size = std::to_string(args.get_int("size", 96));
  std::error_code ec;
  if (fs::exists(out) && !fs::is_empty(out, ec) && !fs::exists(out / kDemoMarker))
    throw Error("demo: --out " + out.string() + " is not empty and not an earlier demo's; choose another");
  for (const char* part : {"run", "segment"}) fs::remove_all(out / part);
  fs::create_directories(out);
  std::ofstream(out / kDemoMarker) << "made by reskit demo; a next demo replaces this folder's contents\n";
  const std::string data = (out / "data").string(), run = (out / "run").string(), seg = (out / "segment").string();
  const bool quiet = args.has("quiet");

  std::cerr << "reskit demo 1/3: a CamVid-layout data set of " << images << " synthetic street scenes in " << data << '\n';
  Args make = {"camvid", data, "--images", images, "--size", "240x180", "--seed", "17", "--test-images", "2"};
  if (quiet) make.push_back("--quiet");
  run_step("make-data", cmd_make_data(make));

  std::cerr << "\nreskit demo 2/3: EncNet (ResNet-18 backbone) trained for " << epochs << " epochs at " << size << "x"
            << size << " into " << run << '\n';
  Args train(std::begin(kDemoModel), std::end(kDemoModel));
  for (const char* a : {"--data", data.c_str(), "--out", run.c_str(), "--epochs", epochs.c_str(), "--size",
                               size.c_str(), "--batch-size", "4", "--lr", "0.05", "--momentum", "0.9",
                               "--checkpoint-every", epochs.c_str()})
    train.push_back(a);
  if (quiet) train.push_back("--quiet");
  run_step("train-seg", cmd_train_seg(train));

  std::cerr << "\nreskit demo 3/3: the held-out test scenes segmented into " << seg << '\n';
  Args segment(std::begin(kDemoModel), std::end(kDemoModel));
  const std::string weights = run + "/final.pth";
  const std::string names = data + "/class_names.txt";
  for (const char* a :
       {"--weights", weights.c_str(), "--size", size.c_str(), "--out", seg.c_str(), "--names", names.c_str()})
    segment.push_back(a);
  for (const auto& entry : fs::directory_iterator(out / "data" / "test_images")) segment.push_back(entry.path().string());
  if (quiet) segment.push_back("--quiet");
  run_step("segment", cmd_segment(segment));

  std::cout << "\nOpen " << (out / "run" / "curves.png").string() << " (loss, accuracy and mIoU by epoch) and "
            << (out / "segment").string() << "/*_overlay.png (the classes over the test scenes).\n"
            << "Next: `reskit train-seg --data DIR --out RUN` on CamVid itself, `reskit demo --tour` for every model.\n";
  return 0;
}

int run_tour(const ParsedArgs& args) {
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

}  // namespace

int cmd_demo(const Args& argv) {
  const Command command(
      "demo", "reskit demo [--out DIR] [--epochs N] | reskit demo --tour [--only NAME ...] [--device DEVICE]",
      "reskit's main job on embedded data: generates a CamVid-layout set of synthetic street scenes (make-data), "
      "trains a small EncNet on it (train-seg: metrics.csv, curves.png) and segments the held-out scenes "
      "(segment: mask, colour and overlay PNGs), all under DIR (default reskit_demo; a next demo replaces it). "
      "With --tour: builds each registered model with its default options, runs one forward pass on seeded random "
      "input and prints shapes, parameter counts and timings: building, the first pass (which also creates "
      "oneDNN's kernels) and the median of the next three.",
      {{"out", "DIR", "where the demo's data, run and PNGs go (default reskit_demo)"},
       {"epochs", "N", "training epochs (default 15)"},
       {"images", "N", "generated scenes, train + valid (default 64)"},
       {"size", "S", "training side, a multiple of 8 (default 96)"},
       {"quiet", "", "no progress bars"},
       {"tour", "", "the model tour instead"},
       {"only", "NAME", "tour: just this model (implies --tour)", true},
       {"device", "DEVICE", "tour: cpu (default), cuda or cuda:N"},
       {"threads", "N", "intra-op threads (default: the CPUs this process may use)"}});
  ParsedArgs args = command.parse(argv, 0);
  if (args.help) {
    std::cout << command.help_text();
    return 0;
  }
  if (args.has("tour") || args.has("only") || args.has("device")) return run_tour(args);
  set_threads(thread_count(args));
  return run_segmentation_demo(args);
}

}  // namespace reskit::cli
