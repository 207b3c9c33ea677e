#pragma once
// A resumable training state in one file, written atomically: the model's
// parameters and buffers ("model.<key>"), the optimiser's momentum buffers
// ("optimizer.momentum_buffer.<key>"), LibTorch's CPU generator ("rng.cpu")
// and a JSON record ("meta", as bytes) of where the run stands: the model
// and its options, the settings, the epoch and batch to continue from, and
// what the interrupted epoch had accumulated. Python's torch.load reads it
// as a dict of tensors.
#include <torch/optim/sgd.h>

#include <string>

#include "reskit/models/registry.h"

namespace reskit::tasks {

struct TrainProgress {
  int64_t epoch = 0;  // epochs completed (0-based index of the one to run next)
  int64_t batch = 0;  // batches of that epoch already done
  // The part of the epoch already done: summed loss x images, images, seconds, the training confusion counts.
  double loss_sum = 0, seconds = 0;
  int64_t images = 0;
  at::Tensor train_counts;  // undefined: none
};

struct TrainState {
  std::string model_name;
  std::string options_json;   // options_to_json(model.options)
  std::string settings_json;  // the trainer's settings, as it wrote them
  TrainProgress progress;
};

void save_train_state(const std::string& path, const models::Model& model, const torch::optim::SGD& optimizer,
                      const TrainState& state);

// Reads the record only (to build the model before restoring it).
TrainState read_train_state(const std::string& path);
// Restores the model, the optimiser and the generator from the file; a
// mismatch with the model is a one-line error naming the file.
void restore_train_state(const std::string& path, models::Model& model, torch::optim::SGD& optimizer);

}  // namespace reskit::tasks
