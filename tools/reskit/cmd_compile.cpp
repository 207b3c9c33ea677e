// reskit compile: a model through the fast engine's capture and passes,
// showing the graph after each (--dump) and checking the plan against eager.
#include <ATen/ATen.h>
#include <torch/csrc/autograd/grad_mode.h>

#include <cstdio>
#include <iostream>

#include "model_command.h"
#include "reskit/core/error.h"
#include "reskit/engine/plan.h"
#include "reskit/core/text_format.h"

namespace reskit::cli {

int cmd_compile(const Args& argv) {
  ModelCommand command(
      "compile", "reskit compile MODEL [--set KEY=VALUE ...] [--input-size 1x3x224x224 ...] [--dump]",
      "Captures the model's forward on seeded random inputs (the example sizes, or --input-size) with LibTorch's "
      "tracer, runs the fast engine's passes (fold_batch_norm, convert_convolutions, fuse_conv_epilogues, "
      "eliminate_dead_code) and prints what the plan holds and how far its outputs are from eager's.",
      {{"input-size", "NxCxHxW", "an input's shape, in forward-argument order (default: the example)", true},
       {"dump", "", "print the graph after capture and after each pass"}});
  if (!command.parse(argv)) return 0;
  const ParsedArgs& args = command.args();
  const tasks::PreparedModel prepared = command.prepare();
  const models::Model& model = prepared.model;
  std::vector<IntList> sizes;
  for (const std::string& text : args.all("input-size")) sizes.push_back(parse_size(text, "input-size"));
  if (sizes.empty()) sizes = model.example_input_sizes;
  at::manual_seed(0);
  std::vector<at::Tensor> inputs;
  for (const IntList& s : sizes) inputs.push_back(at::randn(s).to(prepared.device));

  engine::CompileOptions options;
  options.dump = args.has("dump");
  const engine::Plan plan = engine::compile(*model.module, model.forward, inputs, options);
  for (const auto& [stage, text] : plan.dumps()) std::cout << "# after " << stage << "\n" << text << "\n";
  std::vector<at::Tensor> expected;
  {
    torch::NoGradGuard no_grad;
    expected = model.forward(inputs);
  }
  const std::vector<at::Tensor> got = plan.run(inputs);
  std::cout << model.name << ": " << plan.graph().nodes.size() << " nodes (" << engine::kind_counts(plan.graph())
            << ")\n" << plan.step_count() << " steps:\n" << plan.steps_text();
  for (size_t i = 0; i < got.size() && i < expected.size(); ++i) {
    const double range = expected[i].numel() ? expected[i].abs().max().item<double>() : 0;
    const double diff = got[i].numel() ? (got[i] - expected[i]).abs().max().item<double>() : 0;
    std::printf("out%zu %s: max |fast - eager| %.3g (%.2g of the output's range)\n", i,
                sizes_text(got[i].sizes().vec()).c_str(), diff, range > 0 ? diff / range : 0.0);
  }
  return 0;
}

}  // namespace reskit::cli
