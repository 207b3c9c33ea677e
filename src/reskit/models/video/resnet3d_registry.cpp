#include "reskit/models/video/resnet3d_registry.h"

#include "reskit/core/error.h"
#include "reskit/models/video/resnet3d.h"

namespace reskit::models {
namespace {

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

Model build_resnet3d(const Options& o) {
  ResNet3d net(ResNet3dOptions(o.get_int("depth"))
                   .inflate(inflate_per_stage(o))
                   .inflate_style(o.get_string("inflate_style") == "3x3x3" ? InflateStyle::k3x3x3 : InflateStyle::k3x1x1)
                   .conv1_kernel(o.get_int_list("conv1_kernel"))
                   .conv1_stride_t(o.get_int("conv1_stride_t"))
                   .pool1_stride_t(o.get_int("pool1_stride_t"))
                   .with_pool2(o.get_bool("with_pool2"))
                   .spatial_strides(o.get_int_list("spatial_strides"))
                   .temporal_strides(o.get_int_list("temporal_strides"))
                   .dilations(o.get_int_list("dilations"))
                   .out_indices(o.get_int_list("out_indices"))
                   .zero_init_residual(o.get_bool("zero_init_residual")));
  Model model;
  model.module = net.ptr();
  model.forward = [net](const std::vector<at::Tensor>& in) mutable { return net->forward(in[0]); };
  return model;
}

}  // namespace

std::vector<ModelSpec> resnet3d_specs() {
  return {ModelSpec{
      "resnet3d",
      "video",
      "mmaction2 ResNet3d backbone (inflated 3D ResNet; input N x 3 x T x H x W)",
      {
          {"depth", OptionType::kInt, int64_t{50}, "18, 34, 50, 101 or 152"},
          {"inflate", OptionType::kIntListList, IntListList{{1, 1, 1, 1}},
           "temporal kernels per stage (1,1,1,1) or per block (1,1,1/1,0,1,0/...)"},
          {"inflate_style", OptionType::kString, std::string("3x1x1"),
           "Bottleneck3d: temporal kernel on the 1x1 conv (3x1x1) or the 3x3 conv (3x3x3)", {"3x1x1", "3x3x3"}},
          {"conv1_kernel", OptionType::kIntList, IntList{3, 7, 7}, "stem kernel (t, h, w)"},
          {"conv1_stride_t", OptionType::kInt, int64_t{1}, "stem temporal stride"},
          {"pool1_stride_t", OptionType::kInt, int64_t{1}, "stem max-pool temporal stride"},
          {"with_pool2", OptionType::kBool, true, "halve time after layer1"},
          {"spatial_strides", OptionType::kIntList, IntList{1, 2, 2, 2}, "per stage"},
          {"temporal_strides", OptionType::kIntList, IntList{1, 1, 1, 1}, "per stage"},
          {"dilations", OptionType::kIntList, IntList{1, 1, 1, 1}, "per stage"},
          {"out_indices", OptionType::kIntList, IntList{3}, "stages whose outputs are returned (0..3)"},
          {"zero_init_residual", OptionType::kBool, true, "zero the last BN of each residual branch"},
      },
      {"x"},
      {{1, 3, 8, 112, 112}},
      build_resnet3d}};
}

}  // namespace reskit::models
