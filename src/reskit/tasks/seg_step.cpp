#include "reskit/tasks/seg_step.h"

#include "reskit/layers/batch_norm.h"
#include "reskit/tasks/distributed.h"

namespace reskit::tasks {

SegStep segmentation_step(models::Model& model, torch::optim::Optimizer& optimizer,
                          const std::vector<at::Tensor>& parameters, const at::Tensor& images,
                          const at::Tensor& labels, double se_weight, SeLoss se_loss, DataParallel* parallel) {
  const bool distributed = parallel && parallel->active();
  if (distributed) parallel->broadcast_buffers(*model.module);
  std::vector<at::Tensor> outputs;
  {
    layers::SyncBatchNormScope sync_bn(distributed ? parallel->batch_stats_reducer() : nullptr);
    outputs = model.forward({images});
  }
  SegStep step;
  step.loss = segmentation_loss(outputs, labels, se_weight, se_loss);
  optimizer.zero_grad();
  step.loss.total.backward();
  if (distributed) parallel->average_gradients(parameters);
  optimizer.step();
  step.logits = outputs[0].detach();
  return step;
}

}  // namespace reskit::tasks
