#pragma once
// One training step of seeds/004's recipe, made exact: one forward pass in
// training mode (the seed runs the network twice, moving BatchNorm's
// statistics twice), the loss of tasks/seg_loss.h, backward, the gradients
// averaged over the data-parallel group (DDP's rules: rank 0's buffers
// before the forward, sync-BN when asked), then the optimiser's step.
// train-seg and the tests that compare a step with PyTorch share it.
#include <ATen/core/Tensor.h>
#include <torch/optim/optimizer.h>

#include "reskit/models/registry.h"
#include "reskit/tasks/seg_loss.h"

namespace reskit::tasks {

class DataParallel;

struct SegStep {
  SegLossTerms loss;
  at::Tensor logits;  // the step's segmentation logits, detached
};

// `parameters`: the model's, in the order every rank passes them (only used with a group).
SegStep segmentation_step(models::Model& model, torch::optim::Optimizer& optimizer,
                          const std::vector<at::Tensor>& parameters, const at::Tensor& images,
                          const at::Tensor& labels, double se_weight, SeLoss se_loss,
                          DataParallel* parallel = nullptr);

}  // namespace reskit::tasks
