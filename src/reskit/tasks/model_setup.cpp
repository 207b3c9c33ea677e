#include "reskit/tasks/model_setup.h"

#include <ATen/Context.h>
#include <ATen/core/grad_mode.h>
#include <torch/cuda.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "reskit/core/error.h"
#include "reskit/core/memory.h"
#include "reskit/core/options_json.h"
#include "reskit/core/text_format.h"
#include "reskit/core/threads.h"
#include "reskit/io/atomic_file.h"
#include "reskit/tasks/memory_check.h"

namespace reskit::tasks {
namespace {

std::string read_file(const std::string& path, const std::string& what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error("cannot read " + what + " '" + path + "'");
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

std::string sidecar_path(const std::string& weights_path) { return weights_path + ".json"; }

Options resolve_options(const ModelRequest& request) {
  std::string name = request.name;
  std::string sidecar_text;
  if (!request.weights.empty() && std::filesystem::exists(sidecar_path(request.weights))) {
    sidecar_text = read_file(sidecar_path(request.weights), "sidecar");
    const std::string from_sidecar = model_name_from_json(sidecar_text, sidecar_path(request.weights));
    if (name.empty()) name = from_sidecar;
    else if (!from_sidecar.empty() && from_sidecar != name) sidecar_text.clear();  // the user named another model
  }
  if (name.empty())
    throw Error(request.weights.empty() ? "no model given (see `reskit models`)"
                                        : "no model given and '" + sidecar_path(request.weights) +
                                              "' does not exist to name one");
  Options options = models::default_options(name);
  if (!sidecar_text.empty()) apply_json_options(options, sidecar_text, sidecar_path(request.weights));
  if (!request.options_json.empty()) apply_json_options(options, request.options_json, request.options_source);
  if (!request.config_path.empty())
    apply_json_options(options, read_file(request.config_path, "config"), request.config_path);
  for (const std::string& s : request.sets) options.set_from_assignment(s);
  return options;
}

c10::Device select_device(const std::string& text) {
  if (text == "cpu") return c10::Device(c10::kCPU);
  if (text == "cuda" || text.rfind("cuda:", 0) == 0) {
    const std::string index = text.size() > 5 ? text.substr(5) : "";
    if (text.size() > 4 && (index.empty() || index.size() > 3 || index.find_first_not_of("0123456789") != std::string::npos))
      throw Error("bad device '" + text + "' (expected cpu, cuda or cuda:N)");
    if (!torch::cuda::is_available())
      throw Error("device '" + text + "' requested but CUDA is not available (this LibTorch has no CUDA or no GPU is visible)");
    const int64_t n = index.empty() ? 0 : std::stoll(index);
    if (n >= static_cast<int64_t>(torch::cuda::device_count()))
      throw Error("device '" + text + "' requested but only " + std::to_string(torch::cuda::device_count()) +
                  " CUDA device(s) are visible");
    // float32 means float32: cuDNN and cuBLAS would otherwise round convolutions
    // and matmuls to TF32 on Ampere and later, a 1e-3 miss against the reference.
    at::globalContext().setAllowTF32CuDNN(false);
    at::globalContext().setAllowTF32CuBLAS(false);
    return c10::Device(c10::kCUDA, static_cast<c10::DeviceIndex>(n));
  }
  throw Error("bad device '" + text + "' (expected cpu, cuda or cuda:N)");
}

PreparedModel prepare_model(const ModelRequest& request) {
  PreparedModel prepared;
  prepared.device = select_device(request.device);
  set_threads(request.threads);
  Options options = resolve_options(request);
  at::manual_seed(static_cast<uint64_t>(request.seed));
  prepared.model = models::build_model(options);
  if (!request.weights.empty()) {
    prepared.load_report = io::load_state_dict(*prepared.model.module, io::read_state_dict(request.weights),
                                               !request.non_strict, request.weights);
  }
  return_freed_memory();  // what building and loading left free
  prepared.model.module->to(prepared.device);
  prepared.model.module->eval();
  return prepared;
}

Error cannot_run(const std::string& model_name, const std::vector<IntList>& input_sizes, const c10::Error& error) {
  const std::string what = error.what_without_backtrace();
  return Error(model_name + ": cannot run on input " + sizes_text(input_sizes) + ": " + what.substr(0, what.find('\n')));
}

std::vector<at::Tensor> run_forward(const models::Model& model, const std::vector<at::Tensor>& inputs) {
  std::vector<IntList> sizes;
  for (const at::Tensor& x : inputs) sizes.push_back(x.sizes().vec());
  check_forward_memory(model.name, *model.module, model.forward, sizes);
  at::NoGradGuard no_grad;
  try {
    return model.forward(inputs);
  } catch (const c10::Error& e) {
    throw cannot_run(model.name, sizes, e);
  }
}

void save_checkpoint(const std::string& path, const models::Model& model) {
  const std::string sidecar = "{\"model\": \"" + model.name + "\", \"options\": " + options_to_json(model.options) + "}";
  io::AtomicFile side(sidecar_path(path));
  side.stream() << sidecar << '\n';
  io::save_state_dict(path, io::state_dict_of(*model.module));
  side.commit();
}

}  // namespace reskit::tasks
