// reskit inflate: a torchvision ResNet's weights inflated into a 3D model
// (mmaction2's pretrained2d=True), written as a checkpoint with its sidecar.
#include <iostream>

#include "model_command.h"
#include "reskit/core/error.h"
#include "reskit/io/checkpoint.h"
#include "reskit/models/video/inflate.h"

namespace reskit::cli {

int cmd_inflate(const Args& argv) {
  ModelCommand command("inflate", "reskit inflate [MODEL] --from RESNET2D.pth --to OUT.pth [--set ...]",
                       "Inflates a 2D ResNet checkpoint (torchvision names) into a 3D model (default i3d_r50) as "
                       "mmaction2 does with pretrained2d=True: each conv kernel repeated along time and divided by "
                       "its length, BatchNorm copied; what does not fit keeps its initialisation and is listed.",
                       {{"from", "FILE", "the 2D checkpoint (torchvision resnet18..152 names)"},
                        {"to", "FILE", "the 3D checkpoint to write (with FILE.json naming the model and options)"}});
  if (!command.parse(argv, 1)) return 0;
  const ParsedArgs& args = command.args();
  if (!args.has("from") || !args.has("to")) throw Error("inflate: --from and --to are required");
  if (args.has("weights")) throw Error("inflate: the weights come from --from; --weights does not apply");
  const io::StateDict weights_2d = io::read_state_dict(args.get("from"));
  tasks::PreparedModel prepared = command.prepare(command.model_name().empty() ? "i3d_r50" : command.model_name());
  const models::video::InflateReport report = models::video::inflate_2d_weights(*prepared.model.module, weights_2d);
  if (report.inflated.empty())
    throw Error("inflate: nothing in '" + args.get("from") + "' fits " + prepared.model.name +
                " (is it a torchvision ResNet of the same depth?)");
  tasks::save_checkpoint(args.get("to"), prepared.model);
  std::cout << "inflated " << report.inflated.size() << " tensors of " << prepared.model.name << " from "
            << args.get("from") << " into " << args.get("to") << '\n';
  for (const std::string& line : report.not_inflated) std::cout << "  not inflated: " << line << '\n';
  if (!report.unused.empty()) {
    std::cout << "  unused from the 2D file:";
    for (const std::string& key : report.unused) std::cout << ' ' << key;
    std::cout << '\n';
  }
  return 0;
}

}  // namespace reskit::cli
