// reskit train-seg: seeds/004's training of EncNet on CamVid-layout data.
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <memory>

#include "model_command.h"
#include "reskit/core/error.h"
#ifdef RESKIT_HAVE_OPENCV
#include "reskit/tasks/distributed.h"
#include "reskit/tasks/opencv/seg_trainer.h"
#include "reskit/tasks/train_state.h"
#endif

namespace reskit::cli {
namespace fs = std::filesystem;

int cmd_train_seg(const Args& argv) {
  ModelCommand command(
      "train-seg", "reskit train-seg [MODEL] --data DIR --out RUN_DIR [--epochs 50] [--batch-size 8] [--lr 0.1] ...",
      "Trains a segmentation model (default encnet_r50) as seeds/004 does, with one forward pass per step: "
      "cross-entropy (ignore 255) + se_weight x SE-loss, SGD + StepLR, on DIR/train_images + train_labels, "
      "validated on DIR/valid_images + valid_labels after every epoch (no augmentation, in order). Writes "
      "RUN_DIR/metrics.csv, RUN_DIR/curves.png, epoch_N.pth every --checkpoint-every epochs, final.pth, and "
      "RUN_DIR/train_state.pth (every epoch and on Ctrl-C), from which --resume continues exactly. "
      "--seed (default 17, the seed's) seeds the initialisation and the data order and flips. "
      "With --world-size N (or torchrun's RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT) N processes train "
      "data-parallel over c10d/Gloo as PyTorch's DDP does: each its shard of every epoch, gradients averaged, "
      "rank 0's BatchNorm buffers broadcast, rank 0 alone writing; --batch-size is per process.",
      {{"data", "DIR", "CamVid-layout dataset (reskit make-data camvid makes one)"},
       {"out", "RUN_DIR", "where metrics, curves, checkpoints and the training state go"},
       {"epochs", "N", "epochs in all (default 50); a resumed run may raise it"},
       {"batch-size", "N", "images per step (default 8; the last incomplete batch is dropped)"},
       {"lr", "X", "SGD learning rate (default 0.1)"},
       {"momentum", "X", "SGD momentum (default 0)"},
       {"weight-decay", "X", "SGD weight decay (default 0)"},
       {"step-size", "N", "StepLR: epochs between learning-rate drops (default 50)"},
       {"gamma", "X", "StepLR: the factor of each drop (default 0.1)"},
       {"se-weight", "X", "weight of the SE-loss (default 0.2)"},
       {"se-loss", "mse|bce", "the seed's MSE on the SE logits (default) or EncNet's BCE on their sigmoid"},
       {"size", "S", "images and labels resized to S x S, a multiple of 8 (default 224)"},
       {"workers", "N", "image decoding threads (default 2)"},
       {"checkpoint-every", "N", "a checkpoint every N epochs (default 5)"},
       {"backbone-weights", "FILE", "initialise backbone.* from a torchvision ImageNet checkpoint (skipped keys are listed)"},
       {"colours", "FILE", "class-colour table for colour-coded labels (default DIR/class_colours.txt when labels are colour)"},
       {"resume", "STATE", "continue from RUN_DIR/train_state.pth (or RUN_DIR); --out defaults to its folder"},
       {"stop-after-steps", "N", "stop as Ctrl-C would after N steps of this run (for tests)"},
       {"rank", "R", "this process's rank in a data-parallel run (default: $RANK, else 0)"},
       {"world-size", "N", "processes in a data-parallel run (default: $WORLD_SIZE, else 1)"},
       {"master", "HOST:PORT", "where rank 0 serves the rendezvous (default: $MASTER_ADDR:$MASTER_PORT, else 127.0.0.1:29500)"},
       {"sync-bn", "", "data-parallel: BatchNorm statistics over all processes' batches (SyncBatchNorm)"},
       {"quiet", "", "no progress on stderr"}});
  if (!command.parse(argv, 1)) return 0;
  const ParsedArgs& args = command.args();
#ifndef RESKIT_HAVE_OPENCV
  throw Error("train-seg: this build of reskit has no OpenCV (configure with -DRESKIT_WITH_OPENCV=ON)");
#else
  tasks::SegTrainSettings settings;
  settings.data = args.get("data");
  settings.colours = args.get("colours");
  settings.epochs = args.get_int("epochs", settings.epochs);
  settings.batch_size = args.get_int("batch-size", settings.batch_size);
  settings.lr = args.get_double("lr", settings.lr);
  settings.momentum = args.get_double("momentum", settings.momentum);
  settings.weight_decay = args.get_double("weight-decay", settings.weight_decay);
  settings.step_size = args.get_int("step-size", settings.step_size);
  settings.gamma = args.get_double("gamma", settings.gamma);
  settings.se_weight = args.get_double("se-weight", settings.se_weight);
  settings.se_loss = command.command().choice(args, "se-loss", {"mse", "bce"}) == "bce" ? tasks::SeLoss::kBce
                                                                                      : tasks::SeLoss::kMse;
  settings.size = args.get_int("size", settings.size);
  settings.workers = args.get_int("workers", settings.workers);
  settings.checkpoint_every = args.get_int("checkpoint-every", settings.checkpoint_every);
  settings.stop_after_steps = args.get_int("stop-after-steps", 0);
  settings.quiet = args.has("quiet");
  const int64_t seed = args.get_int("seed", 17);
  if (seed < 0) throw Error("train-seg: --seed must be non-negative");
  settings.seed = static_cast<uint64_t>(seed);

  std::string resume = args.get("resume");
  if (!resume.empty() && fs::is_directory(resume)) resume = (fs::path(resume) / "train_state.pth").string();
  std::string run_dir = args.get("out");
  tasks::ModelRequest request = command.request(command.model_name().empty() ? "encnet_r50" : command.model_name());
  request.seed = seed;
  if (!resume.empty()) {
    if (!fs::exists(resume)) throw Error("train-seg: --resume " + resume + " does not exist");
    // A resumed run keeps its recipe: a flag that would change it is refused, not ignored.
    for (const char* flag : {"batch-size", "lr", "momentum", "weight-decay", "step-size", "gamma", "se-weight",
                             "se-loss", "size", "checkpoint-every", "colours", "seed", "set", "config", "weights"})
      if (args.has(flag))
        throw Error(std::string("train-seg: --") + flag + " cannot change a resumed run (it keeps the settings it began with)");
    const tasks::TrainState state = tasks::read_train_state(resume);
    // The run continues with the model and settings it began with.
    request.name = state.model_name;
    request.options_json = state.options_json;
    request.options_source = resume;
    request.sets.clear();
    request.weights.clear();
    settings = tasks::settings_from_json(state.settings_json, settings);
    if (args.has("epochs")) settings.epochs = args.get_int("epochs", settings.epochs);  // a resumed run may go on longer
    if (run_dir.empty()) run_dir = fs::path(resume).parent_path().string();
    if (run_dir.empty()) run_dir = ".";
  }
  if (settings.data.empty()) throw Error("train-seg: --data DIR is required");
  if (run_dir.empty()) throw Error("train-seg: --out RUN_DIR is required");

  // torchrun's variables, overridden by the flags; one process needs no group.
  tasks::DistributedOptions distributed = tasks::distributed_from_environment();
  if (args.has("rank")) distributed.rank = args.get_int("rank", 0);
  if (args.has("world-size")) distributed.world_size = args.get_int("world-size", 1);
  if (args.has("master")) tasks::set_master(distributed, args.get("master"));
  distributed.sync_bn = args.has("sync-bn");
  tasks::check_distributed_options(distributed);
  const bool main_rank = distributed.rank == 0;
  if (!main_rank) settings.quiet = true;

  tasks::PreparedModel prepared = command.prepare(request);
  std::unique_ptr<tasks::DataParallel> parallel;
  if (distributed.world_size > 1) parallel = std::make_unique<tasks::DataParallel>(distributed);
  if (args.has("backbone-weights")) {
    if (!resume.empty()) throw Error("train-seg: --backbone-weights starts a run; --resume continues one");
    for (const auto& line : tasks::load_backbone_weights(prepared.model, args.get("backbone-weights")))
      if (main_rank) std::fprintf(stderr, "%s\n", line.c_str());
  }
  const tasks::SegTrainResult result =
      tasks::train_segmentation(prepared.model, settings, run_dir, resume, parallel.get());
  if (!main_rank) return result.interrupted ? 130 : 0;
  if (result.interrupted) {
    std::fprintf(stderr, "train-seg: stopped; the state is in %s (resume with --resume %s)\n", result.state_path.c_str(),
                 result.state_path.c_str());
    return 130;
  }
  if (!result.rows.empty()) {
    const auto& last = result.rows.back();
    std::printf("epoch %lld: train loss %.4f, val pixel acc %.4f, val mIoU %.4f\n", static_cast<long long>(last.epoch),
                last.train_loss, last.val_pixel_acc, last.val_miou);
  }
  std::printf("weights: %s\nmetrics: %s\ncurves:  %s\n", result.final_checkpoint.c_str(),
              (fs::path(run_dir) / "metrics.csv").string().c_str(), (fs::path(run_dir) / "curves.png").string().c_str());
  return 0;
#endif
}

}  // namespace reskit::cli
