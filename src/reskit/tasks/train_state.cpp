#include "reskit/tasks/train_state.h"

#include <ATen/core/Generator.h>
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Context.h>
#include <nlohmann/json.hpp>

#include <map>

#include "reskit/core/error.h"
#include "reskit/io/checkpoint.h"
#include "reskit/io/state_dict.h"

namespace reskit::tasks {
namespace {

constexpr const char* kFormat = "reskit-train-state";
const std::string kModel = "model.", kMomentum = "optimizer.momentum_buffer.";

at::Tensor bytes_tensor(const std::string& text) {
  at::Tensor t = at::empty({static_cast<int64_t>(text.size())}, at::kByte);
  std::copy(text.begin(), text.end(), t.data_ptr<uint8_t>());
  return t;
}

std::string tensor_bytes(const at::Tensor& t) {
  const at::Tensor c = t.contiguous().to(at::kByte);
  return std::string(reinterpret_cast<const char*>(c.data_ptr<uint8_t>()), c.numel());
}

std::string momentum_key(const at::Tensor& p) { return c10::guts::to_string(p.unsafeGetTensorImpl()); }

std::map<std::string, at::Tensor> read_entries(const std::string& path) {
  std::map<std::string, at::Tensor> entries;
  for (auto& [key, value] : io::read_state_dict(path)) entries[key] = value;
  if (!entries.count("meta")) throw Error(path + ": not a training state (no 'meta' record)");
  return entries;
}

}  // namespace

void save_train_state(const std::string& path, const models::Model& model, const torch::optim::SGD& optimizer,
                      const TrainState& state) {
  io::StateDict out;
  for (auto& [key, value] : io::state_dict_of(*model.module)) out.emplace_back(kModel + key, value);
  const auto& states = optimizer.state();
  for (const auto& item : model.module->named_parameters()) {
    auto found = states.find(momentum_key(item.value()));
    if (found == states.end()) continue;
    const auto& sgd = static_cast<const torch::optim::SGDParamState&>(*found->second);
    if (sgd.momentum_buffer().defined()) out.emplace_back(kMomentum + item.key(), sgd.momentum_buffer());
  }
  {
    auto generator = at::detail::getDefaultCPUGenerator();
    std::lock_guard<std::mutex> lock(generator.mutex());
    out.emplace_back("rng.cpu", generator.get_state());
  }
  const TrainProgress& p = state.progress;
  if (p.train_counts.defined()) out.emplace_back("progress.train_counts", p.train_counts);
  nlohmann::json meta = {{"format", kFormat},
                         {"version", 1},
                         {"model", state.model_name},
                         {"options", nlohmann::json::parse(state.options_json)},
                         {"settings", nlohmann::json::parse(state.settings_json)},
                         {"epoch", p.epoch},
                         {"batch", p.batch},
                         {"loss_sum", p.loss_sum},
                         {"images", p.images},
                         {"seconds", p.seconds}};
  out.emplace_back("meta", bytes_tensor(meta.dump()));
  io::save_state_dict(path, out);
}

TrainState read_train_state(const std::string& path) {
  const auto entries = read_entries(path);
  nlohmann::json meta;
  try {
    meta = nlohmann::json::parse(tensor_bytes(entries.at("meta")));
    if (meta.value("format", "") != kFormat) throw Error(path + ": not a reskit training state");
    TrainState state;
    state.model_name = meta.at("model").get<std::string>();
    state.options_json = meta.at("options").dump();
    state.settings_json = meta.at("settings").dump();
    TrainProgress& p = state.progress;
    p.epoch = meta.at("epoch").get<int64_t>();
    p.batch = meta.at("batch").get<int64_t>();
    p.loss_sum = meta.at("loss_sum").get<double>();
    p.images = meta.at("images").get<int64_t>();
    p.seconds = meta.at("seconds").get<double>();
    if (p.epoch < 0 || p.batch < 0 || p.images < 0) throw Error(path + ": negative epoch, batch or image count");
    if (entries.count("progress.train_counts")) p.train_counts = entries.at("progress.train_counts");
    return state;
  } catch (const nlohmann::json::exception& e) {
    throw Error(path + ": bad training state record: " + e.what());
  }
}

void restore_train_state(const std::string& path, models::Model& model, torch::optim::SGD& optimizer) {
  const auto entries = read_entries(path);
  io::StateDict weights;
  for (const auto& [key, value] : entries)
    if (key.rfind(kModel, 0) == 0) weights.emplace_back(key.substr(kModel.size()), value);
  try {
    io::load_state_dict(*model.module, weights, /*strict=*/true, path);
  } catch (const Error& e) {
    throw Error(std::string("--resume: ") + e.what());
  }
  at::NoGradGuard no_grad;
  auto& states = optimizer.state();
  for (const auto& item : model.module->named_parameters()) {
    auto found = entries.find(kMomentum + item.key());
    if (found == entries.end()) continue;
    if (!found->second.sizes().equals(item.value().sizes()))
      throw Error(path + ": momentum buffer of " + item.key() + " does not match the model");
    auto sgd = std::make_unique<torch::optim::SGDParamState>();
    sgd->momentum_buffer(found->second.to(item.value().options()).clone());
    states[momentum_key(item.value())] = std::move(sgd);
  }
  if (entries.count("rng.cpu")) {
    auto generator = at::detail::getDefaultCPUGenerator();
    std::lock_guard<std::mutex> lock(generator.mutex());
    generator.set_state(entries.at("rng.cpu"));
  }
}

}  // namespace reskit::tasks
