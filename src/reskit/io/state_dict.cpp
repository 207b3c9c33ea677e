#include "reskit/io/state_dict.h"

#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>

#include <sstream>
#include <unordered_map>
#include <unordered_set>

#include "reskit/core/error.h"

namespace reskit::io {
namespace {

// ---- matching a state dict to a module ---------------------------------------

std::string shape_text(const at::Tensor& t) {
  std::ostringstream s;
  s << t.sizes();
  return s.str();
}

// "a, b, c" with at most `limit` names, then "and N more".
std::string name_list(const std::vector<std::string>& names, size_t limit = 10) {
  std::string out;
  for (size_t i = 0; i < names.size() && i < limit; ++i) out += (i ? ", " : "") + names[i];
  if (names.size() > limit) out += " and " + std::to_string(names.size() - limit) + " more";
  return out;
}

bool is_batch_counter(const std::string& key) {
  static const std::string kName = "num_batches_tracked";
  return key == kName ||
         (key.size() > kName.size() && key.compare(key.size() - kName.size() - 1, std::string::npos, "." + kName) == 0);
}

void add_own_tensors(const torch::nn::Module& module, const std::string& prefix, StateDict& out) {
  for (const auto& p : module.named_parameters(/*recurse=*/false))
    if (p.value().defined()) out.emplace_back(prefix + p.key(), p.value().detach());
  for (const auto& b : module.named_buffers(/*recurse=*/false))
    if (b.value().defined()) out.emplace_back(prefix + b.key(), b.value().detach());
}

// PyTorch's load_state_dict copies whatever dtype into the parameter's: a
// float16 or float64 checkpoint loads into float32, as there. What would
// silently lose a kind of value is refused: complex into real (the imaginary
// part), floating into integer, bool to or from anything else.
bool converts_losslessly(at::ScalarType from, at::ScalarType to) {
  if (from == to) return true;
  if (from == at::kBool || to == at::kBool) return false;
  if (at::isComplexType(from) && !at::isComplexType(to)) return false;
  if (at::isFloatingType(from) && at::isIntegralType(to, /*includeBool=*/false)) return false;
  return true;
}

}  // namespace

// Module by module in pre-order, each one's parameters then its buffers:
// the order of Python's Module.state_dict().
StateDict state_dict_of(const torch::nn::Module& module) {
  StateDict out;
  add_own_tensors(module, "", out);
  for (const auto& child : module.named_modules(/*name_prefix=*/"", /*include_self=*/false))
    add_own_tensors(*child.value(), child.key() + ".", out);
  return out;
}

namespace {

// `consume`: each of the state's tensors is dropped once copied.
LoadReport load_into(torch::nn::Module& module, StateDict& state, bool strict, const std::string& source_name,
                     bool consume) {
  std::unordered_map<std::string, at::Tensor*> from_file;
  for (auto& [key, tensor] : state) from_file.emplace(key, &tensor);

  LoadReport report;
  std::vector<std::pair<at::Tensor, at::Tensor*>> copies;
  std::unordered_set<std::string> in_model;
  for (const auto& [key, target] : state_dict_of(module)) {
    in_model.insert(key);
    auto it = from_file.find(key);
    if (it == from_file.end()) {
      if (!is_batch_counter(key)) report.missing.push_back(key);
      continue;
    }
    at::Tensor& source = *it->second;
    if (source.sizes() != target.sizes()) {
      report.mismatched.push_back(key + ": file " + shape_text(source) + " vs model " + shape_text(target));
      continue;
    }
    if (!converts_losslessly(source.scalar_type(), target.scalar_type()))
      throw Error("checkpoint '" + source_name + "': '" + key + "' is " + c10::toString(source.scalar_type()) +
                  ", which the model's " + c10::toString(target.scalar_type()) + " cannot hold without losing values");
    copies.emplace_back(target, &source);
    report.loaded.push_back(key);
  }
  for (const auto& [key, tensor] : state)
    if (!in_model.count(key)) report.unexpected.push_back(key);

  if (strict && (!report.missing.empty() || !report.unexpected.empty() || !report.mismatched.empty())) {
    std::vector<std::string> parts;
    if (!report.missing.empty()) parts.push_back("missing keys: " + name_list(report.missing));
    if (!report.unexpected.empty()) parts.push_back("unexpected keys: " + name_list(report.unexpected));
    if (!report.mismatched.empty()) parts.push_back("wrong shapes: " + name_list(report.mismatched));
    std::string message = "checkpoint '" + source_name + "' does not match " + module.name() + ": ";
    for (size_t i = 0; i < parts.size(); ++i) message += (i ? "; " : "") + parts[i];
    throw Error(message);
  }

  at::NoGradGuard no_grad;
  for (auto& [target, source] : copies) {
    target.copy_(*source);  // converts to the model's dtype and device
    if (consume) source->reset();
  }
  return report;
}

}  // namespace

LoadReport load_state_dict(torch::nn::Module& module, const StateDict& state, bool strict,
                           const std::string& source_name) {
  StateDict shared = state;  // the same tensors, not copies
  return load_into(module, shared, strict, source_name, /*consume=*/false);
}

LoadReport load_state_dict(torch::nn::Module& module, StateDict&& state, bool strict, const std::string& source_name) {
  return load_into(module, state, strict, source_name, /*consume=*/true);
}

}  // namespace reskit::io
