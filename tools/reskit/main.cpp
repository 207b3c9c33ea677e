// reskit: the command line. Each command is a thin layer over the library;
// every error ends here as one line on stderr and a non-zero exit.
#include <c10/util/Exception.h>

#include <iostream>
#include <string>
#include <vector>

#include "commands.h"
#include "reskit/core/cpu_features.h"
#include "reskit/core/error.h"
#include "reskit/tasks/build_info.h"

namespace {

struct CommandEntry {
  const char* name;
  int (*run)(const reskit::cli::Args&);
  const char* summary;
};

const CommandEntry kCommands[] = {
    {"run", reskit::cli::cmd_run, "one forward pass: .npy inputs to .npy outputs"},
    {"classify", reskit::cli::cmd_classify, "ImageNet top-5 labels for images"},
    {"detect", reskit::cli::cmd_detect, "objects in images: boxes, classes, scores (RFBNet)"},
    {"eval-detect", reskit::cli::cmd_eval_detect, "VOC07 mAP of a detector on a VOC-layout folder"},
    {"recognize", reskit::cli::cmd_recognize, "the action in videos: Kinetics-400 top-5 (i3d_r50)"},
    {"track", reskit::cli::cmd_track, "one object through a video or frames: boxes per frame (SiamBAN)"},
    {"eval-track", reskit::cli::cmd_eval_track, "one-pass evaluation of a tracker on an OTB-layout dataset: success AUC, precision"},
    {"train-seg", reskit::cli::cmd_train_seg, "train a segmentation model (EncNet) on CamVid-layout data: metrics, curves, checkpoints"},
    {"segment", reskit::cli::cmd_segment, "a class for every pixel of images: mask, colours, overlay PNGs (EncNet)"},
    {"eval-seg", reskit::cli::cmd_eval_seg, "pixel accuracy and mIoU of a segmentation model on a CamVid-layout split"},
    {"make-data", reskit::cli::cmd_make_data, "a CamVid-layout data set of synthetic street scenes with exact labels"},
    {"inflate", reskit::cli::cmd_inflate, "a 2D ResNet checkpoint inflated into a 3D model (i3d_r50)"},
    {"compile", reskit::cli::cmd_compile, "a model through the fast engine's passes: the graph after each, the plan against eager"},
    {"summary", reskit::cli::cmd_summary, "what torchinfo's summary() prints for a model"},
    {"print", reskit::cli::cmd_print, "the module tree as Python's print(model) shows it"},
    {"bench", reskit::cli::cmd_bench, "latency of a model per engine, side by side"},
    {"models", reskit::cli::cmd_models, "list the registry's models and their options"},
    {"demo", reskit::cli::cmd_demo, "a guided tour: build and run every model"},
};

void print_usage(std::ostream& out) {
  out << "usage: reskit <command> [options]   (reskit <command> --help for its options)\n"
         "       reskit --version\n\ncommands:\n";
  for (const CommandEntry& c : kCommands) {
    std::string name = c.name;
    name.resize(12, ' ');
    out << "  " << name << c.summary << '\n';
  }
}

std::string first_line(const std::string& text) { return text.substr(0, text.find('\n')); }

}  // namespace

int main(int argc, char** argv) {
  try {
    reskit::pass_cpu_isa_cap_to_onednn();
  } catch (const reskit::Error& e) {
    std::cerr << "reskit: " << e.what() << std::endl;
    return 2;
  }
  if (argc < 2) {
    print_usage(std::cerr);
    return 2;
  }
  const std::string command = argv[1];
  if (command == "--help" || command == "-h" || command == "help") {
    print_usage(std::cout);
    return 0;
  }
  if (command == "--version") {
    std::cout << reskit::tasks::build_info_text();
    return 0;
  }
  const reskit::cli::Args args(argv + 2, argv + argc);
  for (const CommandEntry& c : kCommands) {
    if (command != c.name) continue;
    try {
      return c.run(args);
    } catch (const reskit::Error& e) {
      std::cerr << "reskit: " << first_line(e.what()) << '\n';
    } catch (const c10::Error& e) {
      std::cerr << "reskit: " << first_line(e.what_without_backtrace()) << '\n';
    } catch (const std::exception& e) {
      std::cerr << "reskit: " << first_line(e.what()) << '\n';
    }
    return 1;
  }
  std::cerr << "reskit: unknown command '" << command << "' (see reskit --help)\n";
  return 2;
}
