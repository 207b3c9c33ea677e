// reskit print: the module tree exactly as Python's print(model) shows it (CONTRACT.md).
#include <iostream>

#include "cli_args.h"
#include "commands.h"
#include "reskit/tasks/model_setup.h"
#include "reskit/tasks/module_repr.h"

namespace reskit::cli {

int cmd_print(const Args& argv) {
  // The model flags are accepted so a command line can be reused as it is;
  // printing needs only the options (the tree does not depend on weights).
  const Command command("print", "reskit print MODEL [--set KEY=VALUE ...]",
                        "Prints what Python's print(model) prints for the reference implementation.", model_flags());
  ParsedArgs args = command.parse(argv, 1);
  if (args.help) {
    std::cout << command.help_text();
    return 0;
  }
  const tasks::ModelRequest request = model_request(args, args.positional.empty() ? "" : args.positional[0]);
  const models::Model model = models::build_model(tasks::resolve_options(request));
  std::cout << tasks::python_repr(*model.module) << '\n';
  return 0;
}

}  // namespace reskit::cli
