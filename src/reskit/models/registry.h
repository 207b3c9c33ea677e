#pragma once
// The model registry: one table (name, doc, typed options, inputs, builder)
// that serves the CLI's --set/--config, `reskit models`, checkpoint
// sidecars and the tests.
#include <torch/nn/module.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "reskit/core/options.h"

namespace reskit::models {

// A built model: the root module (its parameter names are checkpoint keys)
// and its forward over a list of inputs, in forward-argument order, to a
// flat list of outputs.
struct Model {
  std::string name;
  Options options;
  std::shared_ptr<torch::nn::Module> module;
  std::function<std::vector<at::Tensor>(const std::vector<at::Tensor>&)> forward;
  std::vector<std::string> input_names;
};

struct ModelSpec {
  std::string name;
  std::string family;  // classification, blocks, video, tracking, ...
  std::string doc;
  std::vector<OptionSpec> options;
  std::vector<std::string> inputs;                // forward-argument names
  std::vector<IntList> example_input_sizes;        // what the demo and docs feed it
  std::function<Model(const Options&)> build;      // fills module and forward
};

const std::vector<ModelSpec>& registry();
// Throws reskit::Error naming the unknown model and listing the known ones.
const ModelSpec& find_model(const std::string& name);
Options default_options(const std::string& name);
// Builds with the given options; forward checks the number of inputs.
Model build_model(const Options& options);

}  // namespace reskit::models
