// resnet18 .. wide_resnet101_2: torchvision's variants, each a preset of ResNetOptions.
#include <utility>

#include "reskit/layers/resnet.h"
#include "reskit/models/registry.h"

namespace reskit::models::classification {
namespace {

using layers::BlockKind;
using layers::ResNet;
using layers::ResNetOptions;

// torchvision's model options, and what the entry returns.
struct TorchvisionResNetOptions : ResNetOptions {
  explicit TorchvisionResNetOptions(ResNetOptions net) : ResNetOptions(std::move(net)) {}
#define RESKIT_FIELDS(X) X(bool, features, false, "return the four stage outputs instead of logits")
  RESKIT_OPTIONS_EXTENDING(ResNetOptions, RESKIT_FIELDS)
#undef RESKIT_FIELDS
};

// Variants are data: torchvision's table of block, depths, groups, width.
const std::vector<std::pair<std::string, ResNetOptions>> kVariants = {
    {"resnet18", ResNetOptions(BlockKind::kBasic, {2, 2, 2, 2})},
    {"resnet34", ResNetOptions(BlockKind::kBasic, {3, 4, 6, 3})},
    {"resnet50", ResNetOptions(BlockKind::kBottleneck, {3, 4, 6, 3})},
    {"resnet101", ResNetOptions(BlockKind::kBottleneck, {3, 4, 23, 3})},
    {"resnet152", ResNetOptions(BlockKind::kBottleneck, {3, 8, 36, 3})},
    {"resnext50_32x4d", ResNetOptions(BlockKind::kBottleneck, {3, 4, 6, 3}).groups(32).width_per_group(4)},
    {"resnext101_32x8d", ResNetOptions(BlockKind::kBottleneck, {3, 4, 23, 3}).groups(32).width_per_group(8)},
    {"resnext101_64x4d", ResNetOptions(BlockKind::kBottleneck, {3, 4, 23, 3}).groups(64).width_per_group(4)},
    {"wide_resnet50_2", ResNetOptions(BlockKind::kBottleneck, {3, 4, 6, 3}).width_per_group(128)},
    {"wide_resnet101_2", ResNetOptions(BlockKind::kBottleneck, {3, 4, 23, 3}).width_per_group(128)},
};

Model build(const TorchvisionResNetOptions& o) {
  ResNet net(o);
  if (!o.features()) return single_output_model(net);
  Model model;
  model.module = net.ptr();
  model.forward = [net](const std::vector<at::Tensor>& in) mutable { return net->forward_features(in[0]); };
  return model;
}

std::vector<ModelSpec> specs() {
  std::vector<ModelSpec> out;
  for (const auto& [name, net] : kVariants)
    out.push_back(model_spec({name, "classification", "torchvision " + name, {"x"}, {{1, 3, 224, 224}}},
                             TorchvisionResNetOptions(net), build));
  return out;
}

}  // namespace

RESKIT_REGISTER_MODELS(classification, 1, specs);

}  // namespace reskit::models::classification
