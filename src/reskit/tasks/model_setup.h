#pragma once
// What every model-running command does first: resolve the model and its
// options (name, --config, --set, or a checkpoint's sidecar), seed, build,
// load weights, move to the device, switch to eval.
#include <c10/core/Device.h>

#include <string>
#include <vector>

#include "reskit/io/checkpoint.h"
#include "reskit/models/registry.h"

namespace reskit::tasks {

struct ModelRequest {
  std::string name;                 // may be empty when weights has a sidecar
  std::vector<std::string> sets;    // KEY=VALUE
  std::string config_path;          // JSON options file
  std::string weights;              // checkpoint path
  bool non_strict = false;
  int64_t seed = 0;
  std::string device = "cpu";
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

}  // namespace reskit::tasks
