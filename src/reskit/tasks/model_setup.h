#pragma once
// What every model-running command does first: resolve the model and its
// options (name, --config, --set, or a checkpoint's sidecar), seed, build,
// load weights, move to the device, switch to eval.
#include <c10/core/Device.h>
#include <c10/util/Exception.h>

#include <string>
#include <vector>

#include "reskit/io/state_dict.h"
#include "reskit/core/error.h"
#include "reskit/models/registry.h"

namespace reskit::tasks {

struct ModelRequest {
  std::string name;                 // may be empty when weights has a sidecar
  std::vector<std::string> sets;    // KEY=VALUE
  std::string config_path;          // JSON options file
  std::string options_json;         // options as JSON text (a training state's), applied before config_path
  std::string options_source;       // where options_json came from, for errors
  std::string weights;              // checkpoint path
  bool non_strict = false;
  int64_t seed = 0;
  std::string device = "cpu";
  int threads = 0;                  // LibTorch's intra-op threads; 0: the CPUs this process may use
};

struct PreparedModel {
  models::Model model;
  io::LoadReport load_report;
  c10::Device device = c10::Device(c10::kCPU);
};

// Options only (no build): what `reskit print/summary` and the sidecar need.
Options resolve_options(const ModelRequest& request);

PreparedModel prepare_model(const ModelRequest& request);

// `cpu`, `cuda`, `cuda:N`; a clear error when this LibTorch has no CUDA.
// Selecting CUDA turns TF32 off, so float32 results stay float32.
c10::Device select_device(const std::string& text);

// Writes the module's state dict (a plain dict torch.load reads) and the
// sidecar PATH.json with the model name and options; both atomically.
void save_checkpoint(const std::string& path, const models::Model& model);

std::string sidecar_path(const std::string& weights_path);

// The model's forward on `inputs` under no-grad, once it is known to fit in
// memory (tasks/memory_check.h). A LibTorch error on the way (a wrong shape,
// too small an input) becomes one line naming the model and inputs:
//   resnet50: cannot run on input 1x3x2x2: <LibTorch's reason>
std::vector<at::Tensor> run_forward(const models::Model& model, const std::vector<at::Tensor>& inputs);
// That line, for callers that run the forward themselves.
Error cannot_run(const std::string& model_name, const std::vector<IntList>& input_sizes, const c10::Error& error);

}  // namespace reskit::tasks
