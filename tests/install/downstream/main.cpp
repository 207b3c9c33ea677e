// Builds a registry model from the installed library, runs it, and reports
// where the library found its data.
#include <torch/csrc/autograd/grad_mode.h>

#include <iostream>

#include "reskit/core/data_dir.h"
#include "reskit/core/text_format.h"
#include "reskit/models/registry.h"
#include "reskit/tasks/classification.h"

int main() {
  reskit::Options options = reskit::models::default_options("resnet18");
  options.set_from_assignment("num_classes=10");
  reskit::models::Model model = reskit::models::build_model(options);
  model.module->eval();
  torch::NoGradGuard no_grad;
  const at::Tensor out = model.forward({at::randn({1, 3, 64, 64})}).at(0);
  std::cout << "output " << reskit::sizes_text(out.sizes().vec()) << "\n"
            << "labels " << reskit::tasks::load_labels("").size() << "\n"
            << "data " << reskit::data_dir() << "\n";
  return 0;
}
