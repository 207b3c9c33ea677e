// resnet3d (mmaction2's ResNet3d backbone) and i3d_r50 (its Recognizer3D).
#include "reskit/models/registry.h"
#include "reskit/models/video/recognizer3d.h"
#include "reskit/models/video/resnet3d.h"

namespace reskit::models::video {
namespace {

// configs/_base_/models/i3d_r50.py's backbone: a preset of ResNet3d's options.
ResNet3dOptions i3d_r50_backbone() {
  return ResNet3dOptions()
      .conv1_kernel({5, 7, 7})
      .conv1_stride_t(2)
      .pool1_stride_t(2)
      .inflate({{1, 1, 1}, {1, 0, 1, 0}, {1, 0, 1, 0, 1, 0}, {0, 1, 0}})
      .zero_init_residual(false);
}

// configs/_base_/models/i3d_r50.py: the head's options, the backbone's under `backbone.`.
struct I3dR50Options {
#define RESKIT_FIELDS(X)                                                                        \
  X(int64_t, num_classes, 400, "classes of the head (Kinetics-400)")                            \
  X(double, dropout_ratio, 0.5, "dropout before the classifier (0: none)")                      \
  X(ResNet3dOptions, backbone, i3d_r50_backbone(), "mmaction2 ResNet3d (the options of resnet3d)")
  RESKIT_OPTIONS(RESKIT_FIELDS)
#undef RESKIT_FIELDS
};

Model build_resnet3d(const ResNet3dOptions& o) {
  ResNet3d net(o);
  Model model;
  model.module = net.ptr();
  model.forward = [net](const std::vector<at::Tensor>& in) mutable { return net->forward(in[0]); };
  return model;
}

Model build_i3d(const I3dR50Options& o) {
  ResNet3d backbone(o.backbone());
  return single_output_model(
      Recognizer3D(backbone, I3DHeadOptions(o.num_classes(), backbone->feat_dim()).dropout_ratio(o.dropout_ratio())));
}

std::vector<ModelSpec> specs() {
  return {
      model_spec({"resnet3d", "video", "mmaction2 ResNet3d backbone (inflated 3D ResNet; input N x 3 x T x H x W)",
                  {"x"}, {{1, 3, 8, 112, 112}}},
                 ResNet3dOptions(), build_resnet3d),
      model_spec({"i3d_r50", "video",
                  "mmaction2 Recognizer3D: ResNet3d + I3DHead as i3d_r50.py; class scores of clips N x 3 x T x H x W "
                  "(or N x clips x 3 x T x H x W)",
                  {"x"}, {{1, 3, 16, 112, 112}}},
                 I3dR50Options(), build_i3d),
  };
}

}  // namespace

RESKIT_REGISTER_MODELS(video, 1, specs);

}  // namespace reskit::models::video
