#include "reskit/models/registry.h"

#include <algorithm>
#include <set>
#include <stdexcept>
#include <tuple>

#include "reskit/core/error.h"

namespace reskit::models {
namespace {

struct Registration {
  std::string family;
  int rank;
  std::vector<ModelSpec> (*specs)();
};

// Filled while the library loads, before main(): a function-local static, so
// that it exists whichever family's registration runs first.
std::vector<Registration>& registrations() {
  static std::vector<Registration> all;
  return all;
}

std::vector<ModelSpec> make_registry() {
  std::vector<Registration> order = registrations();
  std::sort(order.begin(), order.end(),
            [](const Registration& a, const Registration& b) { return std::tie(a.family, a.rank) < std::tie(b.family, b.rank); });
  std::vector<ModelSpec> specs;
  std::set<std::string> names;
  for (const Registration& r : order)
    for (ModelSpec& s : r.specs()) {
      if (!names.insert(s.name).second) throw std::logic_error("model '" + s.name + "' is registered twice");
      specs.push_back(std::move(s));
    }
  return specs;
}

}  // namespace

ModelRegistration::ModelRegistration(const char* family, int rank, std::vector<ModelSpec> (*specs)()) {
  registrations().push_back({family, rank, specs});
}

const std::vector<ModelSpec>& registry() {
  static const std::vector<ModelSpec> specs = make_registry();
  return specs;
}

bool is_model(const std::string& name) {
  for (const ModelSpec& s : registry())
    if (s.name == name) return true;
  return false;
}

const ModelSpec& find_model(const std::string& name) {
  for (const ModelSpec& s : registry())
    if (s.name == name) return s;
  std::string known;
  for (const ModelSpec& s : registry()) known += (known.empty() ? "" : ", ") + s.name;
  throw Error("unknown model '" + name + "' (known: " + known + ")");
}

Options default_options(const std::string& name) { return Options(name, find_model(name).options); }

Model build_model(const Options& options) {
  const ModelSpec& spec = find_model(options.owner());
  Model model = spec.build(options);
  model.name = spec.name;
  model.options = options;
  model.input_names = spec.inputs;
  model.example_input_sizes = spec.example_input_sizes;
  auto forward = std::move(model.forward);
  const std::string name = spec.name;
  const size_t arity = spec.inputs.size();
  model.forward = [forward, name, arity](const std::vector<at::Tensor>& inputs) {
    if (inputs.size() != arity)
      throw Error(name + ": expects " + std::to_string(arity) + " input" + (arity == 1 ? "" : "s") + ", got " +
                  std::to_string(inputs.size()));
    return forward(inputs);
  };
  return model;
}

}  // namespace reskit::models
