// reskit summary: torchinfo's table (or JSON) for a registry model (CONTRACT.md).
#include <iostream>

#include "model_command.h"
#include "reskit/core/error.h"
#include "reskit/tasks/summary.h"

namespace reskit::cli {

int cmd_summary(const Args& argv) {
  ModelCommand command(
      "summary",
      "reskit summary MODEL [--set KEY=VALUE ...] --input-size 10x3x224x224 [--input-size ...] "
      "[--depth N] [--columns a,b,...] [--row-settings a,b,...] [--format table|json]",
      "Prints what torchinfo 1.8's summary() prints for the reference implementation: per-layer shapes, "
      "parameter counts and mult-adds, and the totals.",
      {{"input-size", "NxCxHxW", "an input's shape, in forward-argument order", true},
       {"depth", "N", "deepest level of nested modules shown (default 3)"},
       {"columns", "a,b,...",
        "input_size, output_size, num_params, params_percent, kernel_size, mult_adds, trainable "
        "(default output_size,num_params)"},
       {"row-settings", "a,b,...", "depth, var_names, ascii_only, hide_recursive_layers (default depth)"},
       {"format", "table|json", "output format (default table)"}});
  if (!command.parse(argv)) return 0;
  const ParsedArgs& args = command.args();
  // Everything the user typed is checked before the model is built.
  tasks::SummaryOptions options;
  options.depth = args.get_int("depth", 3);
  if (options.depth < 0) throw Error("summary: --depth must be 0 or more, got " + std::to_string(options.depth));
  if (args.has("columns")) {
    options.columns.clear();
    for (const std::string& name : split_commas(args.get("columns")))
      options.columns.push_back(tasks::parse_summary_column(name));
  }
  if (args.has("row-settings")) tasks::set_summary_row_settings(options, split_commas(args.get("row-settings")));
  const std::string format = command.command().choice(args, "format", {"table", "json"});
  if (!args.has("input-size")) throw Error("summary: at least one --input-size (e.g. 1x3x224x224) is required");
  std::vector<std::vector<int64_t>> sizes;
  for (const std::string& text : args.all("input-size")) sizes.push_back(parse_size(text, "input-size"));

  const tasks::PreparedModel prepared = command.prepare();
  const tasks::SummaryResult result = tasks::summarize(prepared.model, sizes);
  std::cout << (format == "json" ? tasks::format_summary_json(result, options)
                                 : tasks::format_summary_table(result, options))
            << '\n';
  return 0;
}

}  // namespace reskit::cli
