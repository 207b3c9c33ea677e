// rfbnet: RFBNet300 / RFBNet512 (the detector around it is tasks/detection).
#include "reskit/models/detection/rfbnet.h"
#include "reskit/models/registry.h"

namespace reskit::models::detection {
namespace {

Model build_rfbnet(const RFBNetOptions& o) {
  RFBNet net(o);
  Model model;
  model.module = net.ptr();
  model.forward = [net](const std::vector<at::Tensor>& in) mutable {
    auto [boxes, scores] = net->forward(in[0]);
    return std::vector<at::Tensor>{boxes, scores};
  };
  return model;
}

std::vector<ModelSpec> specs() {
  return {model_spec({"rfbnet", "detection",
                      "RFBNet (RFB_Net_vgg): box offsets N x P x 4 and class scores of size x size BGR images "
                      "(reskit detect decodes them)",
                      {"x"}, {{1, 3, 300, 300}}},
                     RFBNetOptions(), build_rfbnet)};
}

}  // namespace

RESKIT_REGISTER_MODELS(detection, 1, specs);

}  // namespace reskit::models::detection
