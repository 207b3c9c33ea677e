#include "reskit/models/pyramid/spp_net.h"

#include <string>

#include "reskit/core/error.h"
#include "reskit/core/module_call.h"
#include "reskit/layers/spatial_pyramid_pool.h"

namespace reskit::models::pyramid {
namespace {

constexpr int64_t kNdf = 64;

layers::Conv2d conv4x4(int64_t in, int64_t out, int64_t stride, int64_t padding) {
  return layers::Conv2d(torch::nn::Conv2dOptions(in, out, 4).stride(stride).padding(padding).bias(false));
}

}  // namespace

SppNetImpl::SppNetImpl(const SppNetOptions& o) : torch::nn::Module("SPP_NET") {
  if (o.input_nc() < 1) throw Error("SPP_NET: input_nc must be positive, got " + std::to_string(o.input_nc()));
  conv1 = register_module("conv1", conv4x4(o.input_nc(), kNdf, 2, 1));
  conv2 = register_module("conv2", conv4x4(kNdf, kNdf * 2, 1, 1));
  BN1 = register_module("BN1", torch::nn::BatchNorm2d(kNdf * 2));
  conv3 = register_module("conv3", conv4x4(kNdf * 2, kNdf * 4, 1, 1));
  BN2 = register_module("BN2", torch::nn::BatchNorm2d(kNdf * 4));
  conv4 = register_module("conv4", conv4x4(kNdf * 4, kNdf * 8, 1, 1));
  BN3 = register_module("BN3", torch::nn::BatchNorm2d(kNdf * 8));
  conv5 = register_module("conv5", conv4x4(kNdf * 8, 64, 1, 0));
  fc1 = register_module("fc1", torch::nn::Linear(10752, 4096));
  fc2 = register_module("fc2", torch::nn::Linear(4096, 1000));
}

at::Tensor SppNetImpl::forward(at::Tensor x) {
  x = at::leaky_relu(call(conv1, x), 0.01);
  x = at::leaky_relu(call(BN1, call(conv2, x)), 0.01);
  x = at::leaky_relu(call(BN2, call(conv3, x)), 0.01);
  x = call(conv4, x);
  const at::Tensor spp = layers::spatial_pyramid_pool(x, {4, 2, 1});
  return at::sigmoid(call(fc2, call(fc1, spp)));
}

}  // namespace reskit::models::pyramid
