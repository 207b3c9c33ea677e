#pragma once
// The model registry: one table (name, doc, typed options, inputs, builder)
// that serves the CLI's --set/--config, `reskit models`, checkpoint
// sidecars and the tests. Each family registers its own entries from its
// own folder (RESKIT_REGISTER_MODELS); nothing outside it lists them.
#include <torch/nn/module.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "reskit/core/option_fields.h"
#include "reskit/core/options.h"

namespace reskit::models {

// A model's inputs, in forward-argument order, to its outputs, flattened depth-first.
using Forward = std::function<std::vector<at::Tensor>(const std::vector<at::Tensor>&)>;

// Another way into a built model than its forward, for models with several
// (SiamBAN's `template` and `track`).
struct EntryPoint {
  std::string name;
  std::vector<std::string> inputs;
  std::vector<IntList> example_input_sizes;
  // The entry's function, with whatever it needs made beforehand made now,
  // once (for `track`: the features of a template of the example size).
  std::function<Forward()> bind;
};

// A built model: the root module (its parameter names are checkpoint keys)
// and its forward over a list of inputs, in forward-argument order, to a
// flat list of outputs.
struct Model {
  std::string name;
  Options options;
  std::shared_ptr<torch::nn::Module> module;
  Forward forward;
  std::vector<std::string> input_names;
  std::vector<IntList> example_input_sizes;
  std::vector<EntryPoint> entries;  // beyond forward; most models have none
};

struct ModelInfo {
  std::string name;
  std::string family;  // what `reskit models` groups by: classification, blocks, video, ...
  std::string doc;
  std::vector<std::string> inputs;           // forward-argument names
  std::vector<IntList> example_input_sizes;  // what the demo and docs feed it
};

struct ModelSpec : ModelInfo {
  std::vector<OptionSpec> options;
  std::function<Model(const Options&)> build;  // fills module and forward
};

// An entry whose options are an options struct (core/option_fields.h):
// `preset`'s values are the defaults, and `build` receives the struct with
// the user's values in it.
template <typename OptionsStruct, typename Build>
ModelSpec model_spec(ModelInfo info, const OptionsStruct& preset, Build build) {
  ModelSpec spec{std::move(info), option_specs(preset), nullptr};
  spec.build = [preset, build](const Options& resolved) {
    OptionsStruct o = preset;
    read_options(resolved, o);
    return build(o);
  };
  return spec;
}

// A Model whose forward is one module's forward of one tensor to one tensor.
template <typename Holder>
Model single_output_model(Holder net) {
  Model model;
  model.module = net.ptr();
  model.forward = [net](const std::vector<at::Tensor>& in) mutable { return std::vector<at::Tensor>{net->forward(in[0])}; };
  return model;
}

// Registers a family's entries at load time; the registry lists families in
// alphabetical order, and a family's registrations by rank.
class ModelRegistration {
 public:
  ModelRegistration(const char* family, int rank, std::vector<ModelSpec> (*specs)());
};
#define RESKIT_REGISTER_MODELS(family, rank, specs) \
  static const ::reskit::models::ModelRegistration reskit_models_##family##_##rank(#family, rank, specs)

const std::vector<ModelSpec>& registry();
bool is_model(const std::string& name);
// Throws reskit::Error naming the unknown model and listing the known ones.
const ModelSpec& find_model(const std::string& name);
Options default_options(const std::string& name);
// Builds with the given options; forward checks the number of inputs.
Model build_model(const Options& options);

}  // namespace reskit::models
