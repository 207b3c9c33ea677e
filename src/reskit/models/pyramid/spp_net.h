#pragma once
// SPP-net as seeds/002 writes it (`SPP_NET`), with its evident bugs fixed:
// conv1 is followed by a leaky ReLU (the seed calls an LReLU1 it never
// builds), the pyramid is layers::spatial_pyramid_pool (a free function
// with integer padding, flattened per sample, so batches work), and the
// unused BN3 and conv5 are kept so that the state-dict keys match. Levels
// 4, 2, 1 and ndf 64 are fixed by fc1's 10752 = 8 * 64 * (16 + 4 + 1) inputs.
#include <torch/nn/module.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>

#include "reskit/core/option_fields.h"
#include "reskit/layers/conv.h"

namespace reskit::models::pyramid {

struct SppNetOptions {
#define RESKIT_FIELDS(X) X(int64_t, input_nc, 3, "input channels")
  RESKIT_OPTIONS(RESKIT_FIELDS)
#undef RESKIT_FIELDS
};

class SppNetImpl : public torch::nn::Module {
 public:
  explicit SppNetImpl(const SppNetOptions& o);
  at::Tensor forward(at::Tensor x);  // N x input_nc x H x W (H, W >= 29) -> N x 1000 in (0, 1)

  layers::Conv2d conv1{nullptr}, conv2{nullptr};
  torch::nn::BatchNorm2d BN1{nullptr};
  layers::Conv2d conv3{nullptr};
  torch::nn::BatchNorm2d BN2{nullptr};
  layers::Conv2d conv4{nullptr};
  torch::nn::BatchNorm2d BN3{nullptr};  // unused, as in the seed
  layers::Conv2d conv5{nullptr};        // unused, as in the seed
  torch::nn::Linear fc1{nullptr}, fc2{nullptr};
};
TORCH_MODULE(SppNet);

}  // namespace reskit::models::pyramid
