#include "reskit/models/video/resnet3d.h"

#include <algorithm>
#include <map>

#include "reskit/core/error.h"
#include "reskit/core/module_call.h"
#include "reskit/core/text_format.h"
#include "reskit/layers/checkpoint.h"

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

// conv3d + norm_cfg's norm (+ act_cfg's activation); no bias before a norm.
ConvModule conv_bn(const NormCfgOptions& norm, const ActCfgOptions& act, int64_t in, int64_t out,
                   std::vector<int64_t> kernel, std::vector<int64_t> stride, std::vector<int64_t> padding,
                   std::vector<int64_t> dilation, bool with_act) {
  return ConvModule(ConvModuleOptions(in, out, std::move(kernel))
                        .stride(std::move(stride))
                        .padding(std::move(padding))
                        .dilation(std::move(dilation))
                        .conv(ConvCfg{3})
                        .norm(norm.layer_cfg())
                        .act(with_act ? act.layer_cfg() : ActCfg{ActType::kNone}));
}

// mmaction2's inflate: per-stage flags (1,1,1,1), one flag for all stages, or
// per stage a group of per-block flags (1,1,1/1,0,1,0/1,0,1,0,1,0/0,1,0).
// Upstream zips them with the stages built, so with fewer stages (num_stages)
// the extra ones are unused.
std::vector<std::vector<int64_t>> flags_per_stage(const IntListList& groups, size_t num_stages, const char* what) {
  std::vector<std::vector<int64_t>> stages;
  if (groups.size() == 1 && (groups[0].size() >= num_stages || groups[0].size() == 1)) {
    for (size_t i = 0; i < num_stages; ++i) stages.push_back({groups[0][groups[0].size() == 1 ? 0 : i]});
  } else if (groups.size() >= num_stages) {
    stages.assign(groups.begin(), groups.begin() + static_cast<int64_t>(num_stages));
  } else {
    throw Error(std::string("ResNet3d: ") + what + " takes a flag per stage (1,1,1,1) or a '/'-separated group of per-block flags "
                "per stage (1,1,1/1,0,1,0/1,0,1,0,1,0/0,1,0), for " + std::to_string(num_stages) + " stages");
  }
  for (const auto& stage : stages)
    for (int64_t flag : stage)
      if (flag != 0 && flag != 1)
        throw Error(std::string("ResNet3d: ") + what + " flags are 0 or 1, got " + std::to_string(flag));
  return stages;
}

}  // namespace

layers::NormCfg NormCfgOptions::layer_cfg() const {
  switch (type()) {
    case Norm3dType::kNone: return {NormType::kNone};
    case Norm3dType::kBN3d: return {NormType::kBN, num_groups(), eps(), momentum(), requires_grad()};
    case Norm3dType::kGN: return {NormType::kGN, num_groups(), eps(), momentum(), requires_grad()};
  }
  return {};
}

layers::ActCfg ActCfgOptions::layer_cfg() const {
  switch (type()) {
    case Act3dType::kReLU: return {ActType::kReLU, negative_slope(), inplace()};
    case Act3dType::kLeakyReLU: return {ActType::kLeakyReLU, negative_slope(), inplace()};
    case Act3dType::kSigmoid: return {ActType::kSigmoid, negative_slope(), false};
  }
  return {};
}

void Block3dImpl::register_tail(ConvModule ds, int64_t channels) {
  if (ds) downsample = register_module("downsample", ds);
  relu_call_ = layers::make_activation(options_.act_cfg().layer_cfg());
  relu = register_module("relu", relu_call_.ptr());
  if (!options_.non_local()) return;
  const NonLocalCfgOptions& c = options_.non_local_cfg();
  non_local_block = register_module("non_local_block", layers::NonLocal3d(layers::NonLocal3dOptions(channels)
                                                                              .reduction(c.reduction())
                                                                              .use_scale(c.use_scale())
                                                                              .sub_sample(c.sub_sample())
                                                                              .mode(c.mode())
                                                                              .norm(c.norm_cfg().layer_cfg())));
}

at::Tensor Block3dImpl::residual(const at::Tensor& x) {
  // Branch before shortcut, as upstream runs them: summaries list modules in call order.
  at::Tensor out = branch(x);
  return out + (downsample ? call(downsample, x) : x);
}

at::Tensor Block3dImpl::forward(at::Tensor x) {
  // Recomputed in backward with with_cp, when the input takes a gradient (as upstream).
  const auto sum = [this](const at::Tensor& in) { return residual(in); };
  at::Tensor out = options_.with_cp() && x.requires_grad() ? layers::checkpoint(sum, x) : residual(x);
  out = layers::call_any(relu_call_, out);
  if (non_local_block) out = call(non_local_block, out);
  return out;
}

// style='pytorch': BasicBlock3d strides its first conv.
BasicBlock3dImpl::BasicBlock3dImpl(const Block3dOptions& o, ConvModule ds) : Block3dImpl("BasicBlock3d", o) {
  const NormCfgOptions& n = o.norm_cfg();
  const ActCfgOptions& a = o.act_cfg();
  const int64_t d = o.dilation(), kt = o.inflate() ? 3 : 1, pt = o.inflate() ? 1 : 0;
  conv1 = register_module("conv1", conv_bn(n, a, o.inplanes(), o.planes(), {kt, 3, 3},
                                           {o.temporal_stride(), o.spatial_stride(), o.spatial_stride()},
                                           {pt, d, d}, {1, d, d}, true));
  conv2 = register_module("conv2", conv_bn(n, a, o.planes(), o.planes() * kExpansion, {kt, 3, 3}, {1, 1, 1},
                                           {pt, 1, 1}, {1}, false));
  register_tail(ds, o.planes() * kExpansion);
}

at::Tensor BasicBlock3dImpl::branch(const at::Tensor& x) { return call(conv2, call(conv1, x)); }

// style='pytorch': Bottleneck3d strides its middle conv; 'caffe': its first.
Bottleneck3dImpl::Bottleneck3dImpl(const Block3dOptions& o, ConvModule ds) : Block3dImpl("Bottleneck3d", o) {
  const NormCfgOptions& n = o.norm_cfg();
  const ActCfgOptions& a = o.act_cfg();
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
  conv1 = register_module("conv1", conv_bn(n, a, o.inplanes(), o.planes(), {k1, 1, 1}, caffe ? strided : std::vector<int64_t>{1},
                                           {p1, 0, 0}, {1}, true));
  conv2 = register_module("conv2", conv_bn(n, a, o.planes(), o.planes(), {k2, 3, 3}, caffe ? std::vector<int64_t>{1} : strided,
                                           {p2, d, d}, {1, d, d}, true));
  conv3 = register_module("conv3", conv_bn(n, a, o.planes(), o.planes() * kExpansion, {1}, {1}, {0}, {1}, false));
  register_tail(ds, o.planes() * kExpansion);
}

at::Tensor Bottleneck3dImpl::branch(const at::Tensor& x) { return call(conv3, call(conv2, call(conv1, x))); }

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
  const std::vector<std::vector<int64_t>> inflate = flags_per_stage(o.inflate(), static_cast<size_t>(stages), "inflate");
  const std::vector<std::vector<int64_t>> non_local =
      flags_per_stage(o.non_local(), static_cast<size_t>(stages), "non_local");
  if (o.frozen_stages() < -1 || o.frozen_stages() > stages)
    throw Error("ResNet3d: frozen_stages must lie in -1.." + std::to_string(stages) + ", got " +
                std::to_string(o.frozen_stages()));
  if (o.out_indices().empty()) throw Error("ResNet3d: out_indices is empty");
  for (int64_t i : o.out_indices())
    if (i < 0 || i >= stages)
      throw Error("ResNet3d: out_indices must lie in 0.." + std::to_string(stages - 1) + ", got " + std::to_string(i));
  if (o.conv1_kernel().size() != 3)
    throw Error("ResNet3d: conv1_kernel needs 3 values (t, h, w), got " + std::to_string(o.conv1_kernel().size()));

  const std::vector<int64_t>& k = o.conv1_kernel();
  inplanes_ = o.base_channels();
  conv1 = register_module("conv1", conv_bn(o.norm_cfg(), o.act_cfg(), o.in_channels(), inplanes_, k,
                                           {o.conv1_stride_t(), o.conv1_stride_s(), o.conv1_stride_s()},
                                           {(k[0] - 1) / 2, (k[1] - 1) / 2, (k[2] - 1) / 2}, {1}, true));
  maxpool = register_module("maxpool", torch::nn::MaxPool3d(torch::nn::MaxPool3dOptions({1, 3, 3})
                                                                .stride({o.pool1_stride_t(), o.pool1_stride_s(),
                                                                         o.pool1_stride_s()})
                                                                .padding({0, 1, 1})));
  pool2 = register_module("pool2", torch::nn::MaxPool3d(torch::nn::MaxPool3dOptions({2, 1, 1}).stride({2, 1, 1})));
  for (int64_t i = 0; i < stages; ++i) {
    res_layers.push_back(make_res_layer(bottleneck, o.base_channels() << i, stage_blocks[i], i, inflate[i], non_local[i]));
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
  // mmaction2 freezes in train(); LibTorch modules start in training mode
  // without a call, so the frozen state holds from the start.
  train(is_training());
}

void ResNet3dImpl::freeze_stages() {
  const auto freeze = [](torch::nn::Module& m) {
    m.eval();
    for (auto& p : m.parameters()) p.requires_grad_(false);
  };
  if (options_.frozen_stages() >= 0) freeze(*conv1);
  for (int64_t i = 0; i < options_.frozen_stages(); ++i) freeze(*res_layers[static_cast<size_t>(i)]);
}

void ResNet3dImpl::train(bool on) {
  torch::nn::Module::train(on);
  freeze_stages();
  if (on && options_.norm_eval())
    for (const auto& m : modules(/*include_self=*/false))
      if (m->as<torch::nn::BatchNorm3d>()) m->eval();
}

layers::Sequential ResNet3dImpl::make_res_layer(bool bottleneck, int64_t planes, int64_t blocks, int64_t stage,
                                                const std::vector<int64_t>& flags,
                                                const std::vector<int64_t>& non_local) {
  const ResNet3dOptions& o = options_;
  if (flags.size() != 1 && static_cast<int64_t>(flags.size()) != blocks)
    throw Error("ResNet3d: inflate of stage " + std::to_string(stage + 1) + " needs 1 or " + std::to_string(blocks) +
                " values, got " + std::to_string(flags.size()));
  if (non_local.size() != 1 && static_cast<int64_t>(non_local.size()) != blocks)
    throw Error("ResNet3d: non_local of stage " + std::to_string(stage + 1) + " needs 1 or " + std::to_string(blocks) +
                " values, got " + std::to_string(non_local.size()));
  const int64_t expansion = bottleneck ? Bottleneck3dImpl::kExpansion : BasicBlock3dImpl::kExpansion;
  const int64_t s = o.spatial_strides()[stage], t = o.temporal_strides()[stage];
  // Upstream builds no downsample for a temporal-only stride where the
  // channels already match, and then fails at the residual sum.
  if (t != 1 && s == 1 && inplanes_ == planes * expansion)
    throw Error("ResNet3d: stage " + std::to_string(stage + 1) + " has temporal stride " + std::to_string(t) +
                " but spatial stride 1 and matching channels, so its shortcut cannot stride (mmaction2 fails there too)");
  ConvModule downsample{nullptr};
  if (s != 1 || inplanes_ != planes * expansion)
    downsample = conv_bn(o.norm_cfg(), o.act_cfg(), inplanes_, planes * expansion, {1}, {t, s, s}, {0}, {1}, false);

  layers::Sequential layer;
  for (int64_t i = 0; i < blocks; ++i) {
    const bool first = i == 0;
    const Block3dOptions bo = Block3dOptions(inplanes_, planes)
                                  .spatial_stride(first ? s : 1)
                                  .temporal_stride(first ? t : 1)
                                  .dilation(o.dilations()[stage])
                                  .inflate(flags[flags.size() == 1 ? 0 : i] == 1)
                                  .inflate_style(o.inflate_style())
                                  .style(o.style())
                                  .norm_cfg(o.norm_cfg())
                                  .act_cfg(o.act_cfg())
                                  .non_local(non_local[non_local.size() == 1 ? 0 : i] == 1)
                                  .non_local_cfg(o.non_local_cfg())
                                  .with_cp(o.with_cp());
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
