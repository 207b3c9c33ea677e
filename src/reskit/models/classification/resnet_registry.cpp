#include "reskit/models/classification/resnet_registry.h"

#include "reskit/core/error.h"
#include "reskit/models/classification/resnet.h"

namespace reskit::models {
namespace {

struct ResNetArch {
  BlockKind block;
  std::vector<int64_t> layers;
  int64_t groups;
  int64_t width_per_group;
};

// Variants are data: torchvision's table of block, depths, groups, width.
const std::vector<std::pair<std::string, ResNetArch>> kResNetArchs = {
    {"resnet18", {BlockKind::kBasic, {2, 2, 2, 2}, 1, 64}},
    {"resnet34", {BlockKind::kBasic, {3, 4, 6, 3}, 1, 64}},
    {"resnet50", {BlockKind::kBottleneck, {3, 4, 6, 3}, 1, 64}},
    {"resnet101", {BlockKind::kBottleneck, {3, 4, 23, 3}, 1, 64}},
    {"resnet152", {BlockKind::kBottleneck, {3, 8, 36, 3}, 1, 64}},
    {"resnext50_32x4d", {BlockKind::kBottleneck, {3, 4, 6, 3}, 32, 4}},
    {"resnext101_32x8d", {BlockKind::kBottleneck, {3, 4, 23, 3}, 32, 8}},
    {"resnext101_64x4d", {BlockKind::kBottleneck, {3, 4, 23, 3}, 64, 4}},
    {"wide_resnet50_2", {BlockKind::kBottleneck, {3, 4, 6, 3}, 1, 128}},
    {"wide_resnet101_2", {BlockKind::kBottleneck, {3, 4, 23, 3}, 1, 128}},
};

std::vector<OptionSpec> resnet_option_specs(const ResNetArch& arch) {
  return {
      {"num_classes", OptionType::kInt, int64_t{1000}, "size of the classifier output"},
      {"zero_init_residual", OptionType::kBool, false, "zero the last BN weight of each residual branch"},
      {"groups", OptionType::kInt, arch.groups, "groups of the 3x3 convolutions (ResNeXt cardinality)"},
      {"width_per_group", OptionType::kInt, arch.width_per_group, "base width of each group"},
      {"replace_stride_with_dilation", OptionType::kIntList, IntList{0, 0, 0},
       "for layer2..layer4: 1 replaces the stage's stride 2 with dilation"},
      {"features", OptionType::kBool, false, "return the four stage outputs instead of logits"},
  };
}

Model build_resnet(const ResNetArch& arch, const Options& o) {
  const IntList& dilate = o.get_int_list("replace_stride_with_dilation");
  if (dilate.size() != 3)
    throw Error(o.owner() + ": replace_stride_with_dilation needs 3 values, got " + std::to_string(dilate.size()));
  std::vector<bool> dilate_flags;
  for (int64_t d : dilate) {
    if (d != 0 && d != 1)
      throw Error(o.owner() + ": replace_stride_with_dilation takes 0 or 1, got " + std::to_string(d));
    dilate_flags.push_back(d == 1);
  }
  ResNet net(ResNetOptions(arch.block, arch.layers)
                 .num_classes(o.get_int("num_classes"))
                 .zero_init_residual(o.get_bool("zero_init_residual"))
                 .groups(o.get_int("groups"))
                 .width_per_group(o.get_int("width_per_group"))
                 .replace_stride_with_dilation(dilate_flags));
  Model model;
  model.module = net.ptr();
  if (o.get_bool("features"))
    model.forward = [net](const std::vector<at::Tensor>& in) mutable { return net->forward_features(in[0]); };
  else
    model.forward = [net](const std::vector<at::Tensor>& in) mutable {
      return std::vector<at::Tensor>{net->forward(in[0])};
    };
  return model;
}

}  // namespace

std::vector<ModelSpec> torchvision_resnet_specs() {
  std::vector<ModelSpec> specs;
  for (const auto& [name, arch] : kResNetArchs) {
    std::string doc = "torchvision " + name;
    specs.push_back(ModelSpec{name, "classification", doc, resnet_option_specs(arch), {"x"},
                              {{1, 3, 224, 224}},
                              [arch = arch](const Options& o) { return build_resnet(arch, o); }});
  }
  return specs;
}

}  // namespace reskit::models
