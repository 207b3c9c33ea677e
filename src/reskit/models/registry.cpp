#include "reskit/models/registry.h"

#include "reskit/core/error.h"
#include "reskit/models/classification/resnet_registry.h"
#include "reskit/models/classification/seed_resnet_registry.h"
#include "reskit/models/video/resnet3d_registry.h"

namespace reskit::models {
namespace {

std::vector<ModelSpec> make_registry() {
  std::vector<ModelSpec> specs;
  auto append = [&](std::vector<ModelSpec> more) {
    for (auto& s : more) specs.push_back(std::move(s));
  };
  append(torchvision_resnet_specs());
  append(seed_resnet_specs());
  append(resnet3d_specs());
  return specs;
}

}  // namespace

const std::vector<ModelSpec>& registry() {
  static const std::vector<ModelSpec> specs = make_registry();
  return specs;
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
