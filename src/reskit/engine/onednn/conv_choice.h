#pragma once
// Which oneDNN convolution runs a layer. The candidates are oneDNN's direct
// algorithm and, for unit-stride 3x3 convolutions, its Winograd, each with
// the source in the layout it comes in or in the one oneDNN prefers; only
// JIT kernels count (never the reference or an im2col + GEMM one where a JIT
// kernel exists). Where several qualify, each is timed on this machine and
// the fastest kept; the choice is cached on disk (tuning_cache.h), keyed by
// the CPU, oneDNN's version, the thread count and the layer's shape.
#include <dnnl.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace reskit::engine::onednn {

struct ConvShape {
  std::vector<int64_t> src, weights, dst;  // PyTorch's sizes: N x C x spatial, OC x IC/groups x kernel
  std::vector<int64_t> kernel, stride, dilation, padding_l, padding_r;  // dilation as PyTorch's (1: none)
  int64_t groups = 1;
};

struct ConvChoice {
  dnnl::convolution_forward::primitive_desc pd;
  dnnl::convolution_forward primitive;
  std::string name;  // "onednn direct jit:avx512_core", for dumps and profiles
};

// `src` is the layout the source comes in; `dst` one the destination should
// have (a residual it overwrites), or an empty desc for oneDNN's choice.
ConvChoice choose_convolution(const ConvShape& shape, bool has_bias, const dnnl::primitive_attr& attr,
                              const dnnl::memory::desc& src, const dnnl::memory::desc& dst);

// The weights as PyTorch holds them: oihw (goihw for groups > 1).
dnnl::memory::desc weights_plain_desc(const ConvShape& shape);

}  // namespace reskit::engine::onednn
