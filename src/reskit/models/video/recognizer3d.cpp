#include "reskit/models/video/recognizer3d.h"

#include <torch/nn/init.h>

#include "reskit/core/error.h"
#include "reskit/core/module_call.h"
#include "reskit/core/options.h"

namespace reskit::models::video {

I3DHeadImpl::I3DHeadImpl(const I3DHeadOptions& o) : torch::nn::Module("I3DHead") {
  if (o.num_classes() < 1) throw Error("I3DHead: num_classes must be positive, got " + std::to_string(o.num_classes()));
  if (o.dropout_ratio() < 0 || o.dropout_ratio() >= 1)
    throw Error("I3DHead: dropout_ratio must lie in [0, 1), got " + format_value(o.dropout_ratio()));
  loss_cls = register_module("loss_cls", layers::Inert("CrossEntropyLoss"));
  if (o.dropout_ratio() != 0) dropout = register_module("dropout", torch::nn::Dropout(o.dropout_ratio()));
  fc_cls = register_module("fc_cls", torch::nn::Linear(o.in_channels(), o.num_classes()));
  avg_pool = register_module("avg_pool", torch::nn::AdaptiveAvgPool3d(torch::nn::AdaptiveAvgPool3dOptions({1, 1, 1})));
  // mmaction2's init_weights: normal_init(fc_cls, std=init_std), bias 0
  at::NoGradGuard no_grad;
  torch::nn::init::normal_(fc_cls->weight, 0.0, o.init_std());
  torch::nn::init::zeros_(fc_cls->bias);
}

at::Tensor I3DHeadImpl::forward(at::Tensor x) {
  x = call(avg_pool, x);
  if (dropout) x = call(dropout, x);
  return call(fc_cls, x.view({x.size(0), -1}));
}

Recognizer3DImpl::Recognizer3DImpl(ResNet3d backbone_module, const I3DHeadOptions& head)
    : torch::nn::Module("Recognizer3D") {
  const std::vector<int64_t>& stages = backbone_module->options().out_indices();
  const int64_t last = backbone_module->options().num_stages() - 1;
  if (stages.size() != 1 || stages[0] != last)
    throw Error("Recognizer3D: the head takes the backbone's last stage alone (out_indices=" + std::to_string(last) +
                ")");
  if (head.in_channels() != backbone_module->feat_dim())
    throw Error("Recognizer3D: the head takes " + std::to_string(head.in_channels()) + " channels, the backbone gives " +
                std::to_string(backbone_module->feat_dim()));
  data_preprocessor = register_module("data_preprocessor", layers::Inert("ActionDataPreprocessor"));
  backbone = register_module("backbone", backbone_module);
  cls_head = register_module("cls_head", I3DHead(head));
}

at::Tensor Recognizer3DImpl::forward(at::Tensor clips) {
  if (clips.dim() == 6) clips = clips.flatten(0, 1);  // mmaction2: inputs.view((-1,) + inputs.shape[2:])
  return call(cls_head, call(backbone, clips).at(0));
}

}  // namespace reskit::models::video
