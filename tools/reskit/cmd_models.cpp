// reskit models: the registry, one model per block (or JSON).
#include <nlohmann/json.hpp>

#include <iostream>

#include "cli_args.h"
#include "commands.h"
#include "reskit/core/error.h"
#include "reskit/core/text_format.h"
#include "reskit/core/options_json.h"
#include "reskit/models/registry.h"

namespace reskit::cli {

int cmd_models(const Args& argv) {
  const Command command("models", "reskit models [--format table|json]",
                        "Lists every registry name with its inputs, options and defaults.",
                        {{"format", "table|json", "output format (default table)"}});
  ParsedArgs args = command.parse(argv, 0);
  if (args.help) {
    std::cout << command.help_text();
    return 0;
  }
  const std::string format = command.choice(args, "format", {"table", "json"});
  if (format == "json") {
    nlohmann::json out = nlohmann::json::array();
    for (const models::ModelSpec& s : models::registry())
      out.push_back({{"name", s.name}, {"family", s.family}, {"doc", s.doc}, {"inputs", s.inputs},
                     {"example_input_sizes", s.example_input_sizes},
                     {"options", nlohmann::json::parse(option_specs_to_json(s.options))}});
    std::cout << out.dump(2) << '\n';
    return 0;
  }
  for (const models::ModelSpec& s : models::registry()) {
    std::cout << s.name << "  (" << s.family << ") " << s.doc << "\n  inputs:";
    for (size_t i = 0; i < s.inputs.size(); ++i)
      std::cout << ' ' << s.inputs[i]
                << (i < s.example_input_sizes.size() ? " e.g. " + sizes_text(s.example_input_sizes[i]) : "");
    std::cout << '\n';
    for (const OptionSpec& o : s.options) {
      std::string left = "    " + o.name + "=" + format_value(o.default_value);
      if (left.size() < 40) left.append(40 - left.size(), ' ');
      std::cout << left << " " << type_name(o.type) << ": " << o.doc << '\n';
    }
    std::cout << '\n';
  }
  return 0;
}

}  // namespace reskit::cli
