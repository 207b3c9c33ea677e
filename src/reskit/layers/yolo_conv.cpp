#include "reskit/layers/yolo_conv.h"

#include "reskit/core/error.h"
#include "reskit/core/module_call.h"
#include "reskit/layers/sequential.h"

namespace reskit::layers {

YoloConvImpl::YoloConvImpl(const YoloConvOptions& o, const char* python_class) : torch::nn::Module(python_class) {
  if (o.in_channels() < 1 || o.out_channels() < 1 || o.kernel_size() < 1 || o.stride() < 1)
    throw Error(std::string(python_class) + ": channels, kernel size and stride must be positive");
  if (!(o.bn_eps() > 0)) throw Error("bn_eps must be positive, got " + std::to_string(o.bn_eps()));
  conv = register_module("conv", Conv2d(torch::nn::Conv2dOptions(o.in_channels(), o.out_channels(), o.kernel_size())
                                            .stride(o.stride())
                                            .padding(o.kernel_size() / 2)
                                            .bias(false)));
  bn = register_module("bn", torch::nn::BatchNorm2d(torch::nn::BatchNorm2dOptions(o.out_channels()).eps(o.bn_eps())));
  if (o.act() == YoloAct::kSiLU) {
    torch::nn::SiLU silu;
    register_module("act", silu);
    act = torch::nn::AnyModule(silu);
  } else {
    torch::nn::ReLU relu;
    register_module("act", relu);
    act = torch::nn::AnyModule(relu);
  }
}

at::Tensor YoloConvImpl::forward(at::Tensor x) { return call_any(act, call(bn, call(conv, x))); }

ConvBNActImpl::ConvBNActImpl(const YoloConvOptions& o)
    : torch::nn::Module(o.act() == YoloAct::kReLU ? "ConvBNReLU" : "ConvBNSiLU") {
  block = register_module("block", YoloConv(o, "ConvModule"));
}

at::Tensor ConvBNActImpl::forward(at::Tensor x) { return call(block, x); }

}  // namespace reskit::layers
