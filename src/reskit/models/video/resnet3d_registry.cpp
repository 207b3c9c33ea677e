#include "reskit/models/video/resnet3d_registry.h"

#include "reskit/core/error.h"
#include "reskit/models/video/recognizer3d.h"
#include "reskit/models/video/resnet3d.h"

namespace reskit::models {
namespace {

// Where i3d_r50's backbone differs from ResNet3d's own defaults.
struct BackboneDefaults {
  IntListList inflate;
  IntList conv1_kernel;
  int64_t conv1_stride_t;
  int64_t pool1_stride_t;
  bool zero_init_residual;
};
const BackboneDefaults kResNet3dDefaults{{{1, 1, 1, 1}}, {3, 7, 7}, 1, 1, true};
// configs/_base_/models/i3d_r50.py
const BackboneDefaults kI3dDefaults{{{1, 1, 1}, {1, 0, 1, 0}, {1, 0, 1, 0, 1, 0}, {0, 1, 0}}, {5, 7, 7}, 2, 2, false};

std::vector<OptionSpec> backbone_specs(const BackboneDefaults& d) {
  return {
      {"depth", OptionType::kInt, int64_t{50}, "18, 34, 50, 101 or 152"},
      {"inflate", OptionType::kIntListList, d.inflate,
       "temporal kernels per stage (1,1,1,1) or per block (1,1,1/1,0,1,0/...)"},
      {"inflate_style", OptionType::kString, std::string("3x1x1"),
       "Bottleneck3d: temporal kernel on the 1x1 conv (3x1x1) or the 3x3 conv (3x3x3)", {"3x1x1", "3x3x3"}},
      {"conv1_kernel", OptionType::kIntList, d.conv1_kernel, "stem kernel (t, h, w)"},
      {"conv1_stride_t", OptionType::kInt, d.conv1_stride_t, "stem temporal stride"},
      {"pool1_stride_t", OptionType::kInt, d.pool1_stride_t, "stem max-pool temporal stride"},
      {"with_pool2", OptionType::kBool, true, "halve time after layer1"},
      {"spatial_strides", OptionType::kIntList, IntList{1, 2, 2, 2}, "per stage"},
      {"temporal_strides", OptionType::kIntList, IntList{1, 1, 1, 1}, "per stage"},
      {"dilations", OptionType::kIntList, IntList{1, 1, 1, 1}, "per stage"},
      {"zero_init_residual", OptionType::kBool, d.zero_init_residual, "zero the last BN of each residual branch"},
  };
}

// mmaction2's inflate: per-stage flags `1,1,1,1` (or one flag for all), or per
// stage a group of per-block flags, `1,1,1/1,0,1,0/1,0,1,0,1,0/0,1,0`.
std::vector<std::vector<int64_t>> inflate_per_stage(const Options& o) {
  const IntListList& groups = o.get_int_list_list("inflate");
  std::vector<std::vector<int64_t>> stages;
  if (groups.size() == 1 && (groups[0].size() == 4 || groups[0].size() == 1)) {
    for (size_t i = 0; i < 4; ++i) stages.push_back({groups[0][groups[0].size() == 1 ? 0 : i]});
  } else if (groups.size() == 4) {
    stages = groups;
  } else {
    throw Error(o.owner() + ": inflate takes 4 per-stage flags (1,1,1,1) or 4 '/'-separated groups of per-block "
                            "flags (1,1,1/1,0,1,0/1,0,1,0,1,0/0,1,0)");
  }
  for (const auto& stage : stages)
    for (int64_t flag : stage)
      if (flag != 0 && flag != 1) throw Error(o.owner() + ": inflate flags are 0 or 1, got " + std::to_string(flag));
  return stages;
}

ResNet3dOptions backbone_options(const Options& o) {
  return ResNet3dOptions(o.get_int("depth"))
      .inflate(inflate_per_stage(o))
      .inflate_style(o.get_string("inflate_style") == "3x3x3" ? InflateStyle::k3x3x3 : InflateStyle::k3x1x1)
      .conv1_kernel(o.get_int_list("conv1_kernel"))
      .conv1_stride_t(o.get_int("conv1_stride_t"))
      .pool1_stride_t(o.get_int("pool1_stride_t"))
      .with_pool2(o.get_bool("with_pool2"))
      .spatial_strides(o.get_int_list("spatial_strides"))
      .temporal_strides(o.get_int_list("temporal_strides"))
      .dilations(o.get_int_list("dilations"))
      .zero_init_residual(o.get_bool("zero_init_residual"));
}

Model build_resnet3d(const Options& o) {
  ResNet3d net(backbone_options(o).out_indices(o.get_int_list("out_indices")));
  Model model;
  model.module = net.ptr();
  model.forward = [net](const std::vector<at::Tensor>& in) mutable { return net->forward(in[0]); };
  return model;
}

Model build_i3d(const Options& o) {
  ResNet3d backbone(backbone_options(o));
  Recognizer3D net(backbone, I3DHeadOptions(o.get_int("num_classes"), backbone->feat_dim())
                                 .dropout_ratio(o.get_float("dropout_ratio")));
  Model model;
  model.module = net.ptr();
  model.forward = [net](const std::vector<at::Tensor>& in) mutable { return std::vector<at::Tensor>{net->forward(in[0])}; };
  return model;
}

}  // namespace

std::vector<ModelSpec> resnet3d_specs() {
  std::vector<OptionSpec> resnet3d_options = backbone_specs(kResNet3dDefaults);
  resnet3d_options.push_back(
      {"out_indices", OptionType::kIntList, IntList{3}, "stages whose outputs are returned (0..3)"});
  std::vector<OptionSpec> i3d_options = backbone_specs(kI3dDefaults);
  i3d_options.insert(i3d_options.begin(),
                     {{"num_classes", OptionType::kInt, int64_t{400}, "classes of the head (Kinetics-400)"},
                      {"dropout_ratio", OptionType::kFloat, 0.5, "dropout before the classifier (0: none)"}});
  return {
      ModelSpec{"resnet3d", "video", "mmaction2 ResNet3d backbone (inflated 3D ResNet; input N x 3 x T x H x W)",
                resnet3d_options, {"x"}, {{1, 3, 8, 112, 112}}, build_resnet3d},
      ModelSpec{"i3d_r50", "video",
                "mmaction2 Recognizer3D: ResNet3d + I3DHead as i3d_r50.py; class scores of clips N x 3 x T x H x W "
                "(or N x clips x 3 x T x H x W)",
                i3d_options, {"x"}, {{1, 3, 16, 112, 112}}, build_i3d},
  };
}

}  // namespace reskit::models
