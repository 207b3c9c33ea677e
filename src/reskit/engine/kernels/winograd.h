#pragma once
// reskit's own Winograd F(4x4, 3x3) convolution: stride 1, no groups, on
// oneDNN's blocked layouts (nChw16c with AVX-512, nChw8c with
// AVX2 and the portable path), so that it sits between oneDNN's kernels with
// no conversion. Per layer:
//   weights   U = G g G^T, once, in float64 (36 frequencies x IC x OC);
//   stage 1   each 6x6 input tile to V = B^T d B (all tiles, all channels);
//   stage 2   per block of tiles and chunk of output channels: 36 GEMMs
//             M = V U (a register-blocked micro-kernel), then Y = A^T M A
//             with the bias, the residual already in the destination (a
//             sum), and ReLU / LeakyReLU / clip, written straight to dst.
// A dilated convolution (dilation d) runs through the atrous decomposition:
// the outputs of each of the d x d phases (y mod d, x mod d) are an undilated
// 3x3 convolution of the input rows and columns of the same phase, so its
// tiles read the input d apart and write the output d apart; the weights and
// transforms are the undilated ones.
// Stage 2 splits over tile blocks and output-channel chunks, so that small
// maps (14x14: one block) still use every thread. Kernels: AVX-512, AVX2+FMA
// and portable C++, chosen from cpu_features() (RESKIT_MAX_CPU_ISA caps it);
// winograd_reference() is the scalar twin the tests hold them to.
#include <ATen/core/Tensor.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "own_conv.h"

namespace reskit::engine::kernels {

struct WinogradShape {
  int64_t batch = 1, in_channels = 0, out_channels = 0;
  int64_t height = 0, width = 0;          // input
  int64_t out_height = 0, out_width = 0;  // output (stride 1: height + pad_top + pad_bottom - 2 dilation)
  int64_t pad_top = 0, pad_left = 0;
  int64_t dilation_h = 1, dilation_w = 1;
};

class WinogradConv : public OwnConv {
 public:
  // weight: OC x IC x 3 x 3 float; bias: OC, or undefined.
  WinogradConv(const WinogradShape& shape, const at::Tensor& weight, const at::Tensor& bias,
               ConvEpilogue epilogue, Isa isa);
  ~WinogradConv() override;

  // Whether this kernel runs the layer: channels a multiple of the ISA's block (twice it for OC).
  static bool supports(const WinogradShape& shape, Isa isa);

  Isa isa() const;
  int lanes() const;
  size_t scratch_bytes(int threads) const override;
  size_t weight_bytes() const override;
  std::string name() const override;  // "reskit winograd 4x4 avx512", "reskit winograd 4x4 atrous avx512"
  void run(const float* src, float* dst, std::byte* scratch) const override;

  struct Layer;  // the shape, transformed weights and epilogue, as the kernels read them

 private:
  std::unique_ptr<Layer> layer_;
};

// The twin: the same F(4x4, 3x3) transforms in plain float loops over dense
// NCHW tensors, phase by phase where `dilation` > 1 (bias, sum with
// `residual` if defined, then the epilogue's activation), for the tests.
at::Tensor winograd_reference(const at::Tensor& input, const at::Tensor& weight, const at::Tensor& bias,
                              int64_t pad_top, int64_t pad_left, int64_t pad_bottom, int64_t pad_right,
                              const at::Tensor& residual, ConvEpilogue epilogue, int64_t dilation = 1);

}  // namespace reskit::engine::kernels
