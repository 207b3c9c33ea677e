#include "reskit/models/video/resnet3d.h"

#include <algorithm>
#include <map>

#include "reskit/core/error.h"
#include "reskit/core/module_call.h"
#include "reskit/core/text_format.h"

namespace reskit::models::video {
namespace {

using layers::ActCfg;
using layers::ActType;
using layers::ConvCfg;
using layers::ConvModule;
using layers::ConvModuleOptions;
using layers::NormCfg;
using layers::NormType;

// mmaction2's arch_settings: depth -> (bottleneck?, blocks per stage)
const std::map<int64_t, std::pair<bool, std::vector<int64_t>>> kArchs = {
    {18, {false, {2, 2, 2, 2}}},  {34, {false, {3, 4, 6, 3}}},   {50, {true, {3, 4, 6, 3}}},
    {101, {true, {3, 4, 23, 3}}}, {152, {true, {3, 8, 36, 3}}},
};

// conv3d + BN3d (+ ReLU), mmaction2's conv_cfg/norm_cfg/act_cfg defaults; no bias before the norm.
ConvModule conv_bn(int64_t in, int64_t out, std::vector<int64_t> kernel, std::vector<int64_t> stride,
                   std::vector<int64_t> padding, std::vector<int64_t> dilation, bool relu) {
  return ConvModule(ConvModuleOptions(in, out, std::move(kernel))
                        .stride(std::move(stride))
                        .padding(std::move(padding))
                        .dilation(std::move(dilation))
                        .conv(ConvCfg{3})
                        .norm(NormCfg{NormType::kBN})
                        .act(ActCfg{relu ? ActType::kReLU : ActType::kNone}));
}

torch::nn::ReLU inplace_relu() { return torch::nn::ReLU(torch::nn::ReLUOptions(true)); }

// mmaction2's inflate: per-stage flags (1,1,1,1), one flag for all stages, or
// per stage a group of per-block flags (1,1,1/1,0,1,0/1,0,1,0,1,0/0,1,0).
// Upstream zips them with the stages built, so with fewer stages (num_stages)
// the extra ones are unused.
std::vector<std::vector<int64_t>> inflate_per_stage(const IntListList& groups, size_t num_stages) {
  std::vector<std::vector<int64_t>> stages;
  if (groups.size() == 1 && (groups[0].size() >= num_stages || groups[0].size() == 1)) {
    for (size_t i = 0; i < num_stages; ++i) stages.push_back({groups[0][groups[0].size() == 1 ? 0 : i]});
  } else if (groups.size() >= num_stages) {
    stages.assign(groups.begin(), groups.begin() + static_cast<int64_t>(num_stages));
  } else {
    throw Error("ResNet3d: inflate takes a flag per stage (1,1,1,1) or a '/'-separated group of per-block flags "
                "per stage (1,1,1/1,0,1,0/1,0,1,0,1,0/0,1,0), for " + std::to_string(num_stages) + " stages");
  }
  for (const auto& stage : stages)
    for (int64_t flag : stage)
      if (flag != 0 && flag != 1) throw Error("ResNet3d: inflate flags are 0 or 1, got " + std::to_string(flag));
  return stages;
}

}  // namespace

// style='pytorch': BasicBlock3d strides its first conv.
BasicBlock3dImpl::BasicBlock3dImpl(const Block3dOptions& o, ConvModule ds) : torch::nn::Module("BasicBlock3d") {
  const int64_t d = o.dilation(), kt = o.inflate() ? 3 : 1, pt = o.inflate() ? 1 : 0;
  conv1 = register_module("conv1", conv_bn(o.inplanes(), o.planes(), {kt, 3, 3},
                                           {o.temporal_stride(), o.spatial_stride(), o.spatial_stride()},
                                           {pt, d, d}, {1, d, d}, true));
  conv2 = register_module("conv2", conv_bn(o.planes(), o.planes() * kExpansion, {kt, 3, 3}, {1, 1, 1}, {pt, 1, 1},
                                           {1}, false));
  if (ds) downsample = register_module("downsample", ds);
  relu = register_module("relu", inplace_relu());
}

at::Tensor BasicBlock3dImpl::forward(at::Tensor x) {
  at::Tensor out = call(conv2, call(conv1, x));
  out = out + (downsample ? call(downsample, x) : x);
  return call(relu, out);
}

// style='pytorch': Bottleneck3d strides its middle conv; 'caffe': its first.
Bottleneck3dImpl::Bottleneck3dImpl(const Block3dOptions& o, ConvModule ds) : torch::nn::Module("Bottleneck3d") {
  const int64_t d = o.dilation();
  const std::vector<int64_t> strided = {o.temporal_stride(), o.spatial_stride(), o.spatial_stride()};
  const bool caffe = o.style() == BlockStyle::kCaffe;
  // (kernel_t, padding_t) of conv1 and conv2: inflate_style '3x1x1' puts the
  // temporal extent on the 1x1 conv, '3x3x3' on the 3x3 one.
  int64_t k1 = 1, p1 = 0, k2 = 1, p2 = 0;
  if (o.inflate() && o.inflate_style() == InflateStyle::k3x1x1) {
    k1 = 3;
    p1 = 1;
  } else if (o.inflate()) {
    k2 = 3;
    p2 = 1;
  }
  conv1 = register_module("conv1", conv_bn(o.inplanes(), o.planes(), {k1, 1, 1}, caffe ? strided : std::vector<int64_t>{1},
                                           {p1, 0, 0}, {1}, true));
  conv2 = register_module("conv2", conv_bn(o.planes(), o.planes(), {k2, 3, 3}, caffe ? std::vector<int64_t>{1} : strided,
                                           {p2, d, d}, {1, d, d}, true));
  conv3 = register_module("conv3", conv_bn(o.planes(), o.planes() * kExpansion, {1}, {1}, {0}, {1}, false));
  if (ds) downsample = register_module("downsample", ds);
  relu = register_module("relu", inplace_relu());
}

at::Tensor Bottleneck3dImpl::forward(at::Tensor x) {
  at::Tensor out = call(conv3, call(conv2, call(conv1, x)));
  out = out + (downsample ? call(downsample, x) : x);
  return call(relu, out);
}

ResNet3dImpl::ResNet3dImpl(const ResNet3dOptions& o) : torch::nn::Module("ResNet3d"), options_(o) {
  auto arch = kArchs.find(o.depth());
  if (arch == kArchs.end()) throw Error("ResNet3d: invalid depth " + std::to_string(o.depth()) + " for resnet");
  const auto& [bottleneck, stage_blocks] = arch->second;
  const int64_t stages = o.num_stages();
  if (stages < 1 || stages > 4) throw Error("ResNet3d: num_stages must be 1 to 4, got " + std::to_string(stages));
  const auto check_stages = [&](const std::vector<int64_t>& v, const char* what) {
    if (static_cast<int64_t>(v.size()) != stages)
      throw Error(std::string("ResNet3d: ") + what + " needs " + std::to_string(stages) + " values (num_stages), got " +
                  std::to_string(v.size()));
  };
  check_stages(o.spatial_strides(), "spatial_strides");
  check_stages(o.temporal_strides(), "temporal_strides");
  check_stages(o.dilations(), "dilations");
  if (o.in_channels() < 1 || o.base_channels() < 1)
    throw Error("ResNet3d: in_channels and base_channels must be positive");
  if (o.conv1_stride_s() < 1 || o.conv1_stride_t() < 1 || o.pool1_stride_s() < 1 || o.pool1_stride_t() < 1)
    throw Error("ResNet3d: the stem's strides must be positive");
  const std::vector<std::vector<int64_t>> inflate = inflate_per_stage(o.inflate(), static_cast<size_t>(stages));
  if (o.out_indices().empty()) throw Error("ResNet3d: out_indices is empty");
  for (int64_t i : o.out_indices())
    if (i < 0 || i >= stages)
      throw Error("ResNet3d: out_indices must lie in 0.." + std::to_string(stages - 1) + ", got " + std::to_string(i));
  if (o.conv1_kernel().size() != 3)
    throw Error("ResNet3d: conv1_kernel needs 3 values (t, h, w), got " + std::to_string(o.conv1_kernel().size()));

  const std::vector<int64_t>& k = o.conv1_kernel();
  inplanes_ = o.base_channels();
  conv1 = register_module("conv1", conv_bn(o.in_channels(), inplanes_, k,
                                           {o.conv1_stride_t(), o.conv1_stride_s(), o.conv1_stride_s()},
                                           {(k[0] - 1) / 2, (k[1] - 1) / 2, (k[2] - 1) / 2}, {1}, true));
  maxpool = register_module("maxpool", torch::nn::MaxPool3d(torch::nn::MaxPool3dOptions({1, 3, 3})
                                                                .stride({o.pool1_stride_t(), o.pool1_stride_s(),
                                                                         o.pool1_stride_s()})
                                                                .padding({0, 1, 1})));
  pool2 = register_module("pool2", torch::nn::MaxPool3d(torch::nn::MaxPool3dOptions({2, 1, 1}).stride({2, 1, 1})));
  for (int64_t i = 0; i < stages; ++i) {
    res_layers.push_back(make_res_layer(bottleneck, o.base_channels() << i, stage_blocks[i], i, inflate[i]));
    register_module("layer" + std::to_string(i + 1), res_layers.back());
  }

  // ConvModule has already drawn kaiming-normal (fan_out) convs and set BN to 1/0,
  // as mmaction2's init_weights does; then the residual branches start at zero.
  if (o.zero_init_residual()) {
    at::NoGradGuard no_grad;
    for (const auto& m : modules(/*include_self=*/false)) {
      torch::nn::Module* last = nullptr;
      if (auto* b = m->as<Bottleneck3d>()) last = b->conv3->norm().get();
      if (auto* b = m->as<BasicBlock3d>()) last = b->conv2->norm().get();
      if (last)
        for (auto& p : last->parameters(false)) p.zero_();
    }
  }
}

layers::Sequential ResNet3dImpl::make_res_layer(bool bottleneck, int64_t planes, int64_t blocks, int64_t stage,
                                                const std::vector<int64_t>& flags) {
  const ResNet3dOptions& o = options_;
  if (flags.size() != 1 && static_cast<int64_t>(flags.size()) != blocks)
    throw Error("ResNet3d: inflate of stage " + std::to_string(stage + 1) + " needs 1 or " + std::to_string(blocks) +
                " values, got " + std::to_string(flags.size()));
  const int64_t expansion = bottleneck ? Bottleneck3dImpl::kExpansion : BasicBlock3dImpl::kExpansion;
  const int64_t s = o.spatial_strides()[stage], t = o.temporal_strides()[stage];
  // Upstream builds no downsample for a temporal-only stride where the
  // channels already match, and then fails at the residual sum.
  if (t != 1 && s == 1 && inplanes_ == planes * expansion)
    throw Error("ResNet3d: stage " + std::to_string(stage + 1) + " has temporal stride " + std::to_string(t) +
                " but spatial stride 1 and matching channels, so its shortcut cannot stride (mmaction2 fails there too)");
  ConvModule downsample{nullptr};
  if (s != 1 || inplanes_ != planes * expansion)
    downsample = conv_bn(inplanes_, planes * expansion, {1}, {t, s, s}, {0}, {1}, false);

  layers::Sequential layer;
  for (int64_t i = 0; i < blocks; ++i) {
    const bool first = i == 0;
    const Block3dOptions bo = Block3dOptions(inplanes_, planes)
                                  .spatial_stride(first ? s : 1)
                                  .temporal_stride(first ? t : 1)
                                  .dilation(o.dilations()[stage])
                                  .inflate(flags[flags.size() == 1 ? 0 : i] == 1)
                                  .inflate_style(o.inflate_style())
                                  .style(o.style());
    const ConvModule ds = first ? downsample : ConvModule{nullptr};
    if (bottleneck)
      layer->push_back(Bottleneck3d(bo, ds));
    else
      layer->push_back(BasicBlock3d(bo, ds));
    inplanes_ = planes * expansion;
  }
  return layer;
}

std::optional<std::string> ResNet3dImpl::python_child_extra_repr(const torch::nn::Module& child) const {
  if (&child != maxpool.get()) return std::nullopt;
  const auto& o = maxpool->options;
  const auto tuple = [](const auto& a) { return python_tuple(std::vector<int64_t>(a->begin(), a->end())); };
  const std::vector<int64_t> dilation(o.dilation()->begin(), o.dilation()->end());
  const bool uniform = std::all_of(dilation.begin(), dilation.end(), [&](int64_t d) { return d == dilation[0]; });
  return "kernel_size=" + tuple(o.kernel_size()) + ", stride=" + tuple(o.stride()) + ", padding=" + tuple(o.padding()) +
         ", dilation=" + (uniform ? std::to_string(dilation[0]) : python_tuple(dilation)) +
         ", ceil_mode=" + (o.ceil_mode() ? "True" : "False");
}

std::vector<at::Tensor> ResNet3dImpl::forward(at::Tensor x) {
  x = call(conv1, x);
  if (options_.with_pool1()) x = call(maxpool, x);
  std::vector<at::Tensor> outs;
  for (size_t i = 0; i < res_layers.size(); ++i) {
    x = call(res_layers[i], x);
    if (i == 0 && options_.with_pool2()) x = call(pool2, x);
    const std::vector<int64_t>& wanted = options_.out_indices();
    if (std::find(wanted.begin(), wanted.end(), static_cast<int64_t>(i)) != wanted.end()) outs.push_back(x);
  }
  return outs;
}

}  // namespace reskit::models::video
