#pragma once
// Options <-> JSON text, for --config files and checkpoint sidecars.
#include <string>

#include "reskit/core/options.h"

namespace reskit {

// {"num_classes": 10, "replace_stride_with_dilation": [0, 1, 1], ...}
std::string options_to_json(const Options& options, bool only_non_default = false);

// Applies a JSON object of option values; `source` names the file in errors.
// Accepts either the object itself or {"model": NAME, "options": {...}}.
void apply_json_options(Options& options, const std::string& json_text, const std::string& source);

// The model name of a {"model": NAME, "options": {...}} document ("" if absent).
std::string model_name_from_json(const std::string& json_text, const std::string& source);

// A model's spec as JSON: [{"name":..., "type":..., "default":..., "doc":...}, ...]
std::string option_specs_to_json(const std::vector<OptionSpec>& specs);

}  // namespace reskit
