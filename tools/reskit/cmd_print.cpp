// reskit print: the module tree exactly as Python's print(model) shows it (CONTRACT.md).
#include <iostream>

#include "model_command.h"
#include "reskit/tasks/module_repr.h"

namespace reskit::cli {

int cmd_print(const Args& argv) {
  // The model flags are accepted so a command line can be reused as it is;
  // printing needs only the options (the tree does not depend on weights).
  ModelCommand command("print", "reskit print MODEL [--set KEY=VALUE ...]",
                       "Prints what Python's print(model) prints for the reference implementation.", {});
  if (!command.parse(argv)) return 0;
  const models::Model model = models::build_model(tasks::resolve_options(command.request(command.model_name())));
  std::cout << tasks::python_repr(*model.module) << '\n';
  return 0;
}

}  // namespace reskit::cli
