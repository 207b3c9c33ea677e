#pragma once
// A convolution in int8 (`--precision int8`), on oneDNN's u8/s8 kernels
// (VNNI where the CPU has it). The source is quantised per tensor with the
// scale its calibration gave: u8 where the graph makes it non-negative (a
// ReLU's output), s8 else. The weights are quantised per output channel to
// s8. The kernel accumulates in s32, adds the bias (in the accumulator's
// units) and rescales; the residual sum and the activation apply as in the
// f32 plan. The output is f32, or the codes its readers take where they all
// run in int8 (backend.cpp decides); every other step is the f32 plan's.
#include <dnnl.hpp>

#include <ATen/core/Tensor.h>

#include <optional>
#include <string>

#include "conv_choice.h"

namespace reskit::engine::onednn {

// A tensor's calibrated range, and whether the graph makes it non-negative.
struct QuantizedRange {
  float max_abs = 0;
  bool non_negative = false;
};

// Whether oneDNN's int8 kernels on this CPU (under ONEDNN_MAX_CPU_ISA) have VNNI.
bool cpu_has_vnni();

// The scale s of a range's codes, round(x x s): its largest |x| (> 0) to the
// largest code (u8: 255, or 127 for a kernel without VNNI; s8: 127).
float code_scale(const QuantizedRange& range, bool vnni);

struct Int8Conv {
  dnnl::convolution_forward::primitive_desc pd;
  at::Tensor weight;     // s8, PyTorch's layout: round(w x weight scale of its output channel)
  at::Tensor bias;       // f32 in the accumulator's units, as oneDNN 2 adds it before the output scale; undefined: none
  float src_scale = 1;   // the source as the kernel reads it: round(x x src_scale), saturated
  // A u8 source of a kernel without VNNI: codes above 127 could saturate its
  // 16-bit pair sums, so they are made as s8 (saturating at 127; the same
  // bytes as u8 for a non-negative source).
  bool src_7bit = false;
  std::optional<float> dst_scale;  // where the output is written as codes (u8/s8) rather than f32
  std::string name;      // "onednn int8 brgconv:avx512_core_vnni"
};

// `weight` and `bias` (undefined: none) as the f32 layer holds them;
// `post_ops` its residual sum and activation; `src` the source's calibrated
// range; `dst`, if given, the output's, for writing it as codes (the caller
// sees that the post-ops commute with its scale: none, or ReLU). None where
// oneDNN has no JIT kernel for the layer or the source's range is 0.
std::optional<Int8Conv> make_int8_conv(const ConvShape& shape, const at::Tensor& weight, const at::Tensor& bias,
                                       const dnnl::post_ops& post_ops, const QuantizedRange& src,
                                       std::optional<QuantizedRange> dst);

}  // namespace reskit::engine::onednn
