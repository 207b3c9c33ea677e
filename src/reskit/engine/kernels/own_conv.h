#pragma once
// A convolution on one of reskit's own kernels (winograd.h, direct_conv.h),
// as a plan runs it and the kernel choice times it: between two buffers in
// its ISA's blocked layout (N x C/lanes x H x W x lanes), weights packed
// once, the epilogue fused.
#include <cstddef>
#include <string>

#include "isa.h"

namespace reskit::engine::kernels {

// What a kernel applies after the bias: the residual the destination holds
// (sum), then an activation.
struct ConvEpilogue {
  bool sum = false;
  enum class Activation { kNone, kRelu, kLeakyRelu, kClip } activation = Activation::kNone;
  float alpha = 0, beta = 0;  // LeakyReLU's slope; clip's [alpha, beta]
};

class OwnConv {
 public:
  virtual ~OwnConv() = default;
  virtual size_t scratch_bytes(int threads) const = 0;
  virtual size_t weight_bytes() const = 0;
  virtual std::string name() const = 0;  // "reskit winograd 4x4 avx512", for dumps and profiles
  // src, dst: blocked; scratch: scratch_bytes(threads) bytes, 64-aligned.
  virtual void run(const float* src, float* dst, std::byte* scratch) const = 0;
};

}  // namespace reskit::engine::kernels
