#pragma once
// Which kernel runs a convolution layer. The candidates are oneDNN's direct
// algorithm; for unit-stride 3x3 convolutions, oneDNN's Winograd (undilated
// ones) and reskit's own F(4x4, 3x3) (kernels/winograd.h; dilated ones too,
// through the atrous phases); for small maps, reskit's own direct kernel
// (kernels/direct_conv.h); oneDNN's with the source in the layout it comes
// in or in the one oneDNN prefers. Only oneDNN's JIT
// kernels count (never its reference or im2col + GEMM ones: a layer with no
// JIT kernel stays on ATen).
// Where several qualify, each is timed on this machine (with the conversion
// its source would need) and the fastest kept; the choice is cached on disk
// (tuning_cache.h), keyed by the CPU, the ISA cap, oneDNN's version, the
// thread count and the layer.
#include <dnnl.hpp>

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "../kernels/own_conv.h"

namespace reskit::engine::onednn {

struct ConvShape {
  std::vector<int64_t> src, weights, dst;  // PyTorch's sizes: N x C x spatial, OC x IC/groups x kernel
  std::vector<int64_t> kernel, stride, dilation, padding_l, padding_r;  // dilation as PyTorch's (1: none)
  int64_t groups = 1;
};

// The layer as the candidates need it: weights, bias (undefined: none), the
// epilogue as oneDNN post-ops and as reskit's kernels take it (none if they cannot).
struct ConvLayer {
  ConvShape shape;
  at::Tensor weight, bias;
  dnnl::primitive_attr attr;
  std::string post_ops;  // "add,relu": part of the tuning cache's key
  std::optional<kernels::ConvEpilogue> epilogue;
};

struct ConvChoice {
  std::string name;  // "onednn direct jit:avx512_core", "reskit winograd 4x4 avx512", for dumps and profiles
  dnnl::memory::desc src, dst;
  // One of the two: oneDNN's primitive, or one of reskit's kernels, made
  // (its weights packed) only when it is timed or chosen.
  std::optional<dnnl::convolution_forward::primitive_desc> pd;
  std::function<std::shared_ptr<const kernels::OwnConv>()> make_own;
  std::shared_ptr<const kernels::OwnConv> own;
};

// `src` is the layout the source comes in; `dst` one the destination must
// have (a residual it overwrites), or an empty desc for the kernel's choice.
ConvChoice choose_convolution(const ConvLayer& layer, const dnnl::memory::desc& src, const dnnl::memory::desc& dst);

// The layer on oneDNN's bf16 kernel (`--precision bf16`): source and weights
// in bf16, accumulation, bias, residual and output in f32, so that the rest
// of the plan is the f32 plan's; none where oneDNN has no JIT kernel for it.
// `dst` as choose_convolution's.
std::optional<ConvChoice> choose_bf16_convolution(const ConvLayer& layer, const dnnl::memory::desc& dst);

// Whether oneDNN has bf16 convolutions on this CPU (AVX-512 and up).
bool bf16_convolutions_available();

// The weights as PyTorch holds them: oihw (goihw for groups > 1).
dnnl::memory::desc weights_plain_desc(const ConvShape& shape,
                                      dnnl::memory::data_type type = dnnl::memory::data_type::f32);

// Whether oneDNN gave one of its JIT kernels (never a reference one).
bool good_impl(const dnnl::primitive_desc_base& pd);

}  // namespace reskit::engine::onednn
