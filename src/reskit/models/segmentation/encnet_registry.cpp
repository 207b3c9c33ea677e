// encnet_r50: seeds/004's EncNet (the training, segmentation and evaluation around it are tasks/).
#include "reskit/models/registry.h"
#include "reskit/models/segmentation/encnet.h"

namespace reskit::models::segmentation {
namespace {

Model build_encnet(const EncNetOptions& o) {
  ENCNet net(o);
  Model model;
  model.module = net.ptr();
  model.forward = [net](const std::vector<at::Tensor>& in) mutable { return net->forward(in[0]); };
  return model;
}

std::vector<ModelSpec> specs() {
  return {model_spec({"encnet_r50", "segmentation",
                      "EncNet (seeds/004): segmentation logits N x num_classes x H x W and SE logits N x num_classes "
                      "of an ImageNet-normalised RGB image, H and W multiples of 8 (reskit train-seg trains it)",
                      {"x"}, {{1, 3, 224, 224}}},
                     EncNetOptions(), build_encnet)};
}

}  // namespace

RESKIT_REGISTER_MODELS(segmentation, 1, specs);

}  // namespace reskit::models::segmentation
