#pragma once
// The max-pooling pyramids of the YOLO code bases (seeds/002), each with its
// reference's structure and parameter names:
//   YOLOv5  SPP (parallel pools k = 5, 9, 13) and SPPF (one pool applied
//           three times: SPPF(k=5) computes SPP(5, 9, 13));
//   YOLOv7  SPPCSPC (SPP inside a cross-stage-partial split);
//   YOLOv6  SimSPPF / SPPF (SPPFModule under `sppf`, ReLU / SiLU) and
//           SimCSPSPPF / CSPSPPF (CSPSPPFModule under `cspsppf`).
// All pools are stride 1 with padding k // 2, so the spatial size is kept;
// kernels must be odd, or the concatenated branches would not line up.
#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/pooling.h>
#include <torch/nn/pimpl.h>

#include <vector>

#include "reskit/layers/yolo_conv.h"

namespace reskit::layers {

// YOLOv5's SPP(c1, c2, k): cv1 halves the channels, the pools run in parallel.
class YoloSPPImpl : public torch::nn::Module {
 public:
  YoloSPPImpl(int64_t c1, int64_t c2, std::vector<int64_t> k, double bn_eps);
  at::Tensor forward(at::Tensor x);

  YoloConv cv1{nullptr}, cv2{nullptr};
  torch::nn::ModuleList m{nullptr};

 private:
  std::vector<torch::nn::MaxPool2d> pools_;
};
TORCH_MODULE(YoloSPP);

// YOLOv5's SPPF(c1, c2, k), and YOLOv6's SPPFModule(in, out, kernel, block)
// when `python_class` is "SPPFModule" and act ReLU or SiLU (its convs are
// ConvBNReLU/ConvBNSiLU: children cv1.block.*).
class SPPFImpl : public torch::nn::Module {
 public:
  SPPFImpl(int64_t c1, int64_t c2, int64_t k, double bn_eps);                        // YOLOv5
  SPPFImpl(int64_t c1, int64_t c2, int64_t k, double bn_eps, YoloAct yolov6_block);  // YOLOv6
  at::Tensor forward(at::Tensor x);

  torch::nn::AnyModule cv1, cv2;
  torch::nn::MaxPool2d m{nullptr};
};
TORCH_MODULE(SPPF);

// YOLOv7's SPPCSPC(c1, c2, e, k) (its n, shortcut and g are unused upstream).
class SPPCSPCImpl : public torch::nn::Module {
 public:
  SPPCSPCImpl(int64_t c1, int64_t c2, double e, std::vector<int64_t> k, double bn_eps);
  at::Tensor forward(at::Tensor x);

  YoloConv cv1{nullptr}, cv2{nullptr}, cv3{nullptr}, cv4{nullptr};
  torch::nn::ModuleList m{nullptr};
  YoloConv cv5{nullptr}, cv6{nullptr}, cv7{nullptr};

 private:
  std::vector<torch::nn::MaxPool2d> pools_;
};
TORCH_MODULE(SPPCSPC);

// YOLOv6's CSPSPPFModule(in, out, kernel, e, block).
class CSPSPPFModuleImpl : public torch::nn::Module {
 public:
  CSPSPPFModuleImpl(int64_t in, int64_t out, int64_t k, double e, double bn_eps, YoloAct act);
  at::Tensor forward(at::Tensor x);

  ConvBNAct cv1{nullptr}, cv2{nullptr}, cv3{nullptr}, cv4{nullptr};
  torch::nn::MaxPool2d m{nullptr};
  ConvBNAct cv5{nullptr}, cv6{nullptr}, cv7{nullptr};
};
TORCH_MODULE(CSPSPPFModule);

// YOLOv6's wrappers: SimSPPF (ReLU) and SPPF (SiLU) hold an SPPFModule under
// `sppf`; SimCSPSPPF (ReLU) and CSPSPPF (SiLU) a CSPSPPFModule under `cspsppf`.
class YoloV6SPPFImpl : public torch::nn::Module {
 public:
  YoloV6SPPFImpl(int64_t in, int64_t out, int64_t k, double bn_eps, YoloAct act);
  at::Tensor forward(at::Tensor x);

  SPPF sppf{nullptr};
};
TORCH_MODULE(YoloV6SPPF);

class YoloV6CSPSPPFImpl : public torch::nn::Module {
 public:
  YoloV6CSPSPPFImpl(int64_t in, int64_t out, int64_t k, double e, double bn_eps, YoloAct act);
  at::Tensor forward(at::Tensor x);

  CSPSPPFModule cspsppf{nullptr};
};
TORCH_MODULE(YoloV6CSPSPPF);

}  // namespace reskit::layers
