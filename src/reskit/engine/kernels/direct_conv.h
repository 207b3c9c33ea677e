#pragma once
// reskit's own direct convolution for small maps (7x7, 14x14: ResNet's last
// stages, where a layer's weights are its data) on oneDNN's blocked layouts
// (nChw16c with AVX-512, nChw8c with AVX2 and the portable path), any
// kernel, stride, dilation and padding, no groups. Per layer:
//   weights   packed once in panels of two vectors of output channels, in
//             the order the micro-kernel reads them;
//   stage 1   (padded or strided layers) each group of output pixels'
//             input vectors gathered per tap, zeros in the padding;
//   stage 2   per panel and pixel group, the micro-kernel (kernels/
//             direct_conv_impl.h) with bias, residual and activation,
//             straight into dst.
// Jobs go to the threads panel by panel, so that each streams its own
// weights from memory once and reuses them from its cache for every group.
// Kernels: AVX-512, AVX2+FMA and portable C++ (isa.h).
#include <ATen/core/Tensor.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "own_conv.h"

namespace reskit::engine::kernels {

struct DirectShape {
  int64_t batch = 1, in_channels = 0, out_channels = 0;
  int64_t height = 0, width = 0, out_height = 0, out_width = 0;  // input and output maps
  int64_t kernel_h = 1, kernel_w = 1, stride_h = 1, stride_w = 1, dilation_h = 1, dilation_w = 1;
  int64_t pad_top = 0, pad_left = 0;
};

class DirectConv : public OwnConv {
 public:
  // weight: OC x IC x kernel_h x kernel_w float; bias: OC, or undefined.
  DirectConv(const DirectShape& shape, const at::Tensor& weight, const at::Tensor& bias, ConvEpilogue epilogue,
             Isa isa);
  ~DirectConv() override;

  // Whether this kernel runs the layer: channels a multiple of the ISA's
  // block (twice it for OC), and a map small enough to be its kind of layer.
  static bool supports(const DirectShape& shape, Isa isa);

  size_t scratch_bytes(int threads) const override;
  size_t weight_bytes() const override;
  std::string name() const override;  // "reskit direct avx512"
  void run(const float* src, float* dst, std::byte* scratch) const override;

  struct Layer;  // the shape, packed weights and epilogue, as the kernels read them

 private:
  std::unique_ptr<Layer> layer_;
};

}  // namespace reskit::engine::kernels
