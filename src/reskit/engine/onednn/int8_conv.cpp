#include "int8_conv.h"

#include <ATen/ATen.h>

#include <cmath>
#include <vector>

#include "onednn_util.h"

namespace reskit::engine::onednn {

using dnnl::memory;

namespace {

// Whether a kernel oneDNN chose multiplies u8 by s8 with VNNI (or AMX)
// rather than in 16-bit pair sums.
bool vnni_kernel(const dnnl::primitive_desc_base& pd) {
  const std::string impl = pd.impl_info_str();
  return impl.find("vnni") != std::string::npos || impl.find("amx") != std::string::npos;
}

double weight_scale_adjust(const dnnl::primitive_desc_base& pd) {
  const dnnl_memory_desc_t& d = pd.weights_desc().data;
  return (d.extra.flags & dnnl_memory_extra_flag_scale_adjust) != 0 ? static_cast<double>(d.extra.scale_adjust) : 1.0;
}

}  // namespace

bool cpu_has_vnni() {
  const dnnl::cpu_isa isa = dnnl::get_effective_cpu_isa();  // the CPU's, under ONEDNN_MAX_CPU_ISA
  return isa == dnnl::cpu_isa::avx2_vnni || isa == dnnl::cpu_isa::avx512_core_vnni ||
         isa == dnnl::cpu_isa::avx512_core_bf16 || isa == dnnl::cpu_isa::avx512_core_amx;
}

float code_scale(const QuantizedRange& range, bool vnni) {
  // Without VNNI, oneDNN's u8 x s8 pair sums are 16-bit and saturate past
  // 32767 (255 x 127 x 2 would): u8 then takes 7 bits, as other int8
  // runtimes do there.
  const float levels = range.non_negative && vnni ? 255.f : 127.f;
  return levels / range.max_abs;
}

std::optional<Int8Conv> make_int8_conv(const ConvShape& s, const at::Tensor& weight, const at::Tensor& bias,
                                       const dnnl::post_ops& post_ops, const QuantizedRange& src_range,
                                       std::optional<QuantizedRange> dst_range) {
  // A range of 0 (a value that was zero throughout calibration) gives no scale.
  if (s.groups != 1 || !(src_range.max_abs > 0)) return std::nullopt;
  if (dst_range && !(dst_range->max_abs > 0)) dst_range.reset();
  Int8Conv c;
  // The output's codes are for its readers' kernels, which this machine's
  // ISA decides (a reader whose kernel differs requantises them).
  if (dst_range) c.dst_scale = code_scale(*dst_range, cpu_has_vnni());
  const bool src_non_negative = src_range.non_negative;

  dnnl::primitive_attr attr;
  attr.set_post_ops(post_ops);
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  memory::dims dilates, strides = to_dims(s.stride);
  for (int64_t d : s.dilation) dilates.push_back(d - 1);
  const memory::desc src(to_dims(s.src), src_non_negative ? memory::data_type::u8 : memory::data_type::s8,
                         memory::format_tag::any);
  const memory::desc weights(to_dims(s.weights), memory::data_type::s8, memory::format_tag::any);
  const memory::desc bias_desc =
      bias.defined() ? memory::desc({s.weights[0]}, memory::data_type::f32, memory::format_tag::any) : memory::desc();
  // Codes for readers without VNNI stay within 127, as s8 (src_7bit).
  const memory::data_type dst_type = !dst_range                                 ? memory::data_type::f32
                                     : dst_range->non_negative && cpu_has_vnni() ? memory::data_type::u8
                                                                                 : memory::data_type::s8;
  const memory::desc dst(to_dims(s.dst), dst_type, memory::format_tag::any);
  const dnnl::convolution_forward::desc desc(dnnl::prop_kind::forward_inference, dnnl::algorithm::convolution_direct,
                                             src, weights, bias_desc, dst, strides, dilates, to_dims(s.padding_l),
                                             to_dims(s.padding_r));
  // A first descriptor tells whether oneDNN will adjust the weights' scale.
  dnnl::convolution_forward::primitive_desc probe;
  try {
    probe = dnnl::convolution_forward::primitive_desc(desc, attr, cpu_engine());
  } catch (const dnnl::error&) {
    return std::nullopt;  // the f32 plan's kernels take it
  }
  if (!good_impl(probe)) return std::nullopt;
  c.src_scale = code_scale(src_range, vnni_kernel(probe));
  c.src_7bit = src_non_negative && !vnni_kernel(probe);

  // Per output channel, in float64 so that the codes do not depend on
  // float rounding: code = round(w x levels / max |w|). Without VNNI,
  // oneDNN's kernels multiply u8 by s8 in pairs summed in 16 bits, and its
  // weight reorder halves the codes against overflow (scale_adjust, undone
  // in its output scale); the codes are then 63 levels, given doubled, so
  // that halving them is exact.
  const double adjust = weight_scale_adjust(probe);
  const at::Tensor w = weight.to(at::kDouble);
  const at::Tensor w_max = w.abs().reshape({w.size(0), -1}).amax(1);
  const at::Tensor w_scale = at::where(w_max > 0, std::floor(127.0 * adjust) / w_max, at::ones_like(w_max));
  std::vector<int64_t> per_channel(static_cast<size_t>(w.dim()), 1);
  per_channel[0] = -1;
  c.weight = ((w * w_scale.view(per_channel)).round() / adjust).to(at::kChar).contiguous();
  // dst = output_scale[oc] x (accumulator + bias), in the codes as given:
  // one step of the source's codes times one of the weights'.
  const at::Tensor acc_scale = w_scale / adjust * static_cast<double>(c.src_scale);
  // Codes out: the output's scale too (it commutes with ReLU).
  const double dst_scale = c.dst_scale ? static_cast<double>(*c.dst_scale) : 1.0;
  const at::Tensor output_scale = (dst_scale / acc_scale).to(at::kFloat).contiguous();
  if (bias.defined()) c.bias = (bias.to(at::kDouble) * acc_scale).to(at::kFloat).contiguous();
  attr.set_output_scales(1 << 1, std::vector<float>(output_scale.data_ptr<float>(),
                                                    output_scale.data_ptr<float>() + output_scale.numel()));
  try {
    c.pd = dnnl::convolution_forward::primitive_desc(desc, attr, cpu_engine());
  } catch (const dnnl::error&) {
    return std::nullopt;
  }
  // The codes were made for the probe's kernel: the same one, or none.
  if (!good_impl(c.pd) || weight_scale_adjust(c.pd) != adjust || vnni_kernel(c.pd) != vnni_kernel(probe))
    return std::nullopt;
  c.name = std::string("onednn int8 ") + c.pd.impl_info_str();
  return c;
}

}  // namespace reskit::engine::onednn
