#pragma once
// torch.nn's Conv1d, Conv2d and Conv3d whose inference runs on oneDNN.
//
// LibTorch 1.13 sends a float CPU convolution to oneDNN only when its own
// heuristics say so: a stride-1 1x1 conv at batch 1 needs more than one
// thread, small 3x3 convs need a large enough input. Everything else goes to
// im2col + the system BLAS, which on Debian is the netlib reference: resnet50
// at one thread takes ~1 s instead of ~150 ms, a 3D ResNet-50 ~20 s instead
// of ~2 s. These modules send every such convolution to
// at::mkldnn_convolution whatever the thread count. What needs a gradient
// (training), other devices and dtypes, non-zero padding modes and tracing
// keep LibTorch's own path. Options, parameter names and print(model) are
// torch.nn's: they are LibTorch's modules with another forward.
#include <torch/nn/modules/conv.h>

namespace reskit::layers {

// Whether a convolution of `input` with `weight` and `bias` (undefined: none)
// takes the oneDNN path here.
bool runs_on_onednn(const at::Tensor& input, const at::Tensor& weight, const at::Tensor& bias);

// While one is alive, this thread's convolutions take LibTorch's own choice of
// backend, as they did before this dispatch (the `libtorch` engine of `reskit bench`).
class LibTorchConvolutions {
 public:
  LibTorchConvolutions();
  ~LibTorchConvolutions();
  LibTorchConvolutions(const LibTorchConvolutions&) = delete;
  LibTorchConvolutions& operator=(const LibTorchConvolutions&) = delete;

 private:
  bool previous_;
};

class Conv1dImpl : public torch::nn::Conv1dImpl {
 public:
  using torch::nn::Conv1dImpl::Conv1dImpl;
  at::Tensor forward(const at::Tensor& input);
};
TORCH_MODULE(Conv1d);

class Conv2dImpl : public torch::nn::Conv2dImpl {
 public:
  using torch::nn::Conv2dImpl::Conv2dImpl;
  at::Tensor forward(const at::Tensor& input);
};
TORCH_MODULE(Conv2d);

class Conv3dImpl : public torch::nn::Conv3dImpl {
 public:
  using torch::nn::Conv3dImpl::Conv3dImpl;
  at::Tensor forward(const at::Tensor& input);
};
TORCH_MODULE(Conv3d);

}  // namespace reskit::layers
