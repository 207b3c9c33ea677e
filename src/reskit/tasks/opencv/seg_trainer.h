#pragma once
// seeds/004's training of a segmentation model, made robust: SGD + StepLR
// on the CamVid-layout data (tasks/opencv/seg_loader.h) with one forward
// pass per step and the loss of tasks/seg_loss.h; per epoch the training
// loss and pixel accuracy, the validation pixel accuracy, mIoU and per-class
// IoU, printed and kept in RUN_DIR/metrics.csv and RUN_DIR/curves.png;
// checkpoints (state dicts torch.load reads, with sidecars) every N epochs
// and at the end; a resumable state (tasks/train_state.h) at every epoch's
// end and on Ctrl-C, from which --resume continues exactly.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "reskit/models/registry.h"
#include "reskit/tasks/seg_loss.h"
#include "reskit/tasks/seg_report.h"

namespace reskit::tasks {

class DataParallel;

struct SegTrainSettings {
  std::string data;     // the dataset's folder
  std::string colours;  // a class-colour table for colour-coded labels ("": the dataset's own, if any)
  int64_t epochs = 50, batch_size = 8, size = 224, workers = 2;
  double lr = 0.1, momentum = 0, weight_decay = 0;
  int64_t step_size = 50;  // StepLR
  double gamma = 0.1;
  double se_weight = 0.2;
  SeLoss se_loss = SeLoss::kMse;
  int64_t checkpoint_every = 5;
  uint64_t seed = 17;
  // After this many steps of this run, stop as Ctrl-C would (0: never): how
  // the tests interrupt a run at a known point.
  int64_t stop_after_steps = 0;
  bool quiet = false;
};

std::string settings_to_json(const SegTrainSettings& settings);
// The saved settings of a resumed run; the run-time ones (workers, quiet,
// stop_after_steps) come from `current`.
SegTrainSettings settings_from_json(const std::string& json, const SegTrainSettings& current);

struct SegTrainResult {
  std::vector<EpochMetrics> rows;  // every epoch so far, resumed ones included
  bool interrupted = false;
  std::string state_path, final_checkpoint;  // RUN_DIR/train_state.pth; RUN_DIR/final.pth ("" if interrupted)
};

// Trains `model` (built, on its device) into `run_dir`. `resume`: a
// train_state.pth to continue from ("" for a new run, whose run_dir must not
// hold one). `parallel`: the data-parallel group (nullptr: one process).
SegTrainResult train_segmentation(models::Model& model, const SegTrainSettings& settings, const std::string& run_dir,
                                  const std::string& resume, DataParallel* parallel = nullptr);

// Initialises `backbone.*` from a torchvision ImageNet checkpoint: the keys
// that match by name and shape load; returns the report's lines (loaded
// count, file keys skipped, backbone keys left as they were).
std::vector<std::string> load_backbone_weights(models::Model& model, const std::string& path);

}  // namespace reskit::tasks
