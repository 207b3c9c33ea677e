#include "reskit/layers/rfb.h"

#include <string>

#include "reskit/core/error.h"
#include "reskit/core/module_call.h"

namespace reskit::layers {
namespace {

using K = torch::ExpandingArray<2>;

BasicConv basic(int64_t in, int64_t out, K kernel, K stride = 1, K padding = 0, K dilation = 1, bool relu = true) {
  return BasicConv(BasicConvOptions(in, out, kernel).stride(stride).padding(padding).dilation(dilation).relu(relu));
}

// Both blocks split in_planes down to a sixteenth in their narrowest branch.
void check_planes(const char* who, int64_t in, int64_t out, int64_t stride) {
  if (in < 16 || out < 1)
    throw Error(std::string(who) + ": in_planes must be at least 16 (its narrowest branch has in_planes / 16) and "
                "out_planes positive, got " + std::to_string(in) + " and " + std::to_string(out));
  if (stride < 1) throw Error(std::string(who) + ": stride must be positive, got " + std::to_string(stride));
}

}  // namespace

BasicConvImpl::BasicConvImpl(const BasicConvOptions& o) : torch::nn::Module("BasicConv"), out_channels_(o.out_planes()) {
  conv = register_module("conv", Conv2d(torch::nn::Conv2dOptions(o.in_planes(), o.out_planes(), o.kernel_size())
                                            .stride(o.stride())
                                            .padding(o.padding())
                                            .dilation(o.dilation())
                                            .bias(o.bias())));
  if (o.bn())
    bn = register_module("bn",
                         torch::nn::BatchNorm2d(torch::nn::BatchNorm2dOptions(o.out_planes()).eps(1e-5).momentum(0.01)));
  if (o.relu()) relu = register_module("relu", torch::nn::ReLU(torch::nn::ReLUOptions(true)));
}

at::Tensor BasicConvImpl::forward(at::Tensor x) {
  x = call(conv, x);
  if (bn) x = call(bn, x);
  if (relu) x = call(relu, x);
  return x;
}

BasicRFBImpl::BasicRFBImpl(const BasicRFBOptions& o) : torch::nn::Module("BasicRFB"), options_(o) {
  check_planes("BasicRFB", o.in_planes(), o.out_planes(), o.stride());
  if (o.visual() < 1) throw Error("BasicRFB: visual must be positive, got " + std::to_string(o.visual()));
  const int64_t in = o.in_planes(), inter = in / 8, s = o.stride(), v = o.visual();
  branch0 = register_module("branch0", make_sequential(basic(in, 2 * inter, 1, s),
                                                       basic(2 * inter, 2 * inter, 3, 1, v, v, false)));
  branch1 = register_module("branch1", make_sequential(basic(in, inter, 1), basic(inter, 2 * inter, {3, 3}, s, {1, 1}),
                                                       basic(2 * inter, 2 * inter, 3, 1, v + 1, v + 1, false)));
  branch2 = register_module(
      "branch2", make_sequential(basic(in, inter, 1), basic(inter, (inter / 2) * 3, 3, 1, 1),
                                 basic((inter / 2) * 3, 2 * inter, 3, s, 1),
                                 basic(2 * inter, 2 * inter, 3, 1, 2 * v + 1, 2 * v + 1, false)));
  ConvLinear = register_module("ConvLinear", basic(6 * inter, o.out_planes(), 1, 1, 0, 1, false));
  shortcut = register_module("shortcut", basic(in, o.out_planes(), 1, s, 0, 1, false));
  relu = register_module("relu", torch::nn::ReLU(torch::nn::ReLUOptions(false)));
}

at::Tensor BasicRFBImpl::forward(at::Tensor x) {
  at::Tensor out = at::cat({call(branch0, x), call(branch1, x), call(branch2, x)}, 1);
  out = call(ConvLinear, out);
  const at::Tensor short_cut = call(shortcut, x);
  return call(relu, out * options_.scale() + short_cut);
}

BasicRFBAImpl::BasicRFBAImpl(const BasicRFBAOptions& o) : torch::nn::Module("BasicRFB_a"), options_(o) {
  check_planes("BasicRFB_a", o.in_planes(), o.out_planes(), o.stride());
  // Upstream passes the stride to two of four branches and to the shortcut:
  // with any stride but 1 the branches disagree in size and the concat fails.
  if (o.stride() != 1)
    throw Error("BasicRFB_a: stride must be 1 (got " + std::to_string(o.stride()) +
                "): its branches would come out in different sizes");
  const int64_t in = o.in_planes(), inter = in / 4, s = o.stride();
  branch0 = register_module("branch0", make_sequential(basic(in, inter, 1), basic(inter, inter, 3, 1, 1, 1, false)));
  branch1 = register_module("branch1", make_sequential(basic(in, inter, 1), basic(inter, inter, {3, 1}, 1, {1, 0}),
                                                       basic(inter, inter, 3, 1, 3, 3, false)));
  branch2 = register_module("branch2", make_sequential(basic(in, inter, 1), basic(inter, inter, {1, 3}, s, {0, 1}),
                                                       basic(inter, inter, 3, 1, 3, 3, false)));
  branch3 = register_module(
      "branch3", make_sequential(basic(in, inter / 2, 1), basic(inter / 2, (inter / 4) * 3, {1, 3}, 1, {0, 1}),
                                 basic((inter / 4) * 3, inter, {3, 1}, s, {1, 0}), basic(inter, inter, 3, 1, 5, 5, false)));
  ConvLinear = register_module("ConvLinear", basic(4 * inter, o.out_planes(), 1, 1, 0, 1, false));
  shortcut = register_module("shortcut", basic(in, o.out_planes(), 1, s, 0, 1, false));
  relu = register_module("relu", torch::nn::ReLU(torch::nn::ReLUOptions(false)));
}

at::Tensor BasicRFBAImpl::forward(at::Tensor x) {
  at::Tensor out = at::cat({call(branch0, x), call(branch1, x), call(branch2, x), call(branch3, x)}, 1);
  out = call(ConvLinear, out);
  const at::Tensor short_cut = call(shortcut, x);
  return call(relu, out * options_.scale() + short_cut);
}

}  // namespace reskit::layers
