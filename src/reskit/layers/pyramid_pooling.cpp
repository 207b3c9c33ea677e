#include "reskit/layers/pyramid_pooling.h"

#include <string>

#include "reskit/core/error.h"
#include "reskit/core/module_call.h"
#include "reskit/layers/sequential.h"

namespace reskit::layers {
namespace {

torch::nn::MaxPool2d same_size_pool(const char* who, int64_t k) {
  if (k < 1 || k % 2 == 0)
    throw Error(std::string(who) + ": pool kernel sizes must be odd and positive (stride 1, padding k // 2 keeps "
                "the size only then), got " + std::to_string(k));
  return torch::nn::MaxPool2d(torch::nn::MaxPool2dOptions(k).stride(1).padding(k / 2));
}

int64_t hidden(const char* who, int64_t channels) {
  if (channels < 1) throw Error(std::string(who) + ": the hidden channels come out as " + std::to_string(channels) +
                                "; give more channels (or a larger e)");
  return channels;
}

YoloConvOptions conv(int64_t in, int64_t out, int64_t k, double bn_eps, YoloAct act = YoloAct::kSiLU) {
  return YoloConvOptions(in, out, k).bn_eps(bn_eps).act(act);
}

}  // namespace

YoloSPPImpl::YoloSPPImpl(int64_t c1, int64_t c2, std::vector<int64_t> k, double bn_eps) : torch::nn::Module("SPP") {
  if (k.empty()) throw Error("SPP: k needs at least one kernel size");
  const int64_t c = hidden("SPP", c1 / 2);
  cv1 = register_module("cv1", YoloConv(conv(c1, c, 1, bn_eps)));
  cv2 = register_module("cv2", YoloConv(conv(c * static_cast<int64_t>(k.size() + 1), c2, 1, bn_eps)));
  m = register_module("m", torch::nn::ModuleList());
  for (int64_t size : k) {
    pools_.push_back(same_size_pool("SPP", size));
    m->push_back(pools_.back());
  }
}

at::Tensor YoloSPPImpl::forward(at::Tensor x) {
  x = call(cv1, x);
  std::vector<at::Tensor> parts{x};
  for (auto& pool : pools_) parts.push_back(call(pool, x));
  return call(cv2, at::cat(parts, 1));
}

SPPFImpl::SPPFImpl(int64_t c1, int64_t c2, int64_t k, double bn_eps) : torch::nn::Module("SPPF") {
  const int64_t c = hidden("SPPF", c1 / 2);
  cv1 = torch::nn::AnyModule(register_module("cv1", YoloConv(conv(c1, c, 1, bn_eps))));
  cv2 = torch::nn::AnyModule(register_module("cv2", YoloConv(conv(c * 4, c2, 1, bn_eps))));
  m = register_module("m", same_size_pool("SPPF", k));
}

SPPFImpl::SPPFImpl(int64_t c1, int64_t c2, int64_t k, double bn_eps, YoloAct act) : torch::nn::Module("SPPFModule") {
  const int64_t c = hidden("SPPFModule", c1 / 2);
  cv1 = torch::nn::AnyModule(register_module("cv1", ConvBNAct(conv(c1, c, 1, bn_eps, act))));
  cv2 = torch::nn::AnyModule(register_module("cv2", ConvBNAct(conv(c * 4, c2, 1, bn_eps, act))));
  m = register_module("m", same_size_pool("SPPFModule", k));
}

at::Tensor SPPFImpl::forward(at::Tensor x) {
  x = call_any(cv1, x);
  const at::Tensor y1 = call(m, x);
  const at::Tensor y2 = call(m, y1);
  return call_any(cv2, at::cat({x, y1, y2, call(m, y2)}, 1));
}

SPPCSPCImpl::SPPCSPCImpl(int64_t c1, int64_t c2, double e, std::vector<int64_t> k, double bn_eps)
    : torch::nn::Module("SPPCSPC") {
  // Upstream's cv5 takes 4 * c_ channels whatever k holds: three pools only.
  if (k.size() != 3) throw Error("SPPCSPC: k needs exactly three kernel sizes, got " + std::to_string(k.size()));
  const int64_t c = hidden("SPPCSPC", static_cast<int64_t>(2 * c2 * e));
  cv1 = register_module("cv1", YoloConv(conv(c1, c, 1, bn_eps)));
  cv2 = register_module("cv2", YoloConv(conv(c1, c, 1, bn_eps)));
  cv3 = register_module("cv3", YoloConv(conv(c, c, 3, bn_eps)));
  cv4 = register_module("cv4", YoloConv(conv(c, c, 1, bn_eps)));
  m = register_module("m", torch::nn::ModuleList());
  for (int64_t size : k) {
    pools_.push_back(same_size_pool("SPPCSPC", size));
    m->push_back(pools_.back());
  }
  cv5 = register_module("cv5", YoloConv(conv(4 * c, c, 1, bn_eps)));
  cv6 = register_module("cv6", YoloConv(conv(c, c, 3, bn_eps)));
  cv7 = register_module("cv7", YoloConv(conv(2 * c, c2, 1, bn_eps)));
}

at::Tensor SPPCSPCImpl::forward(at::Tensor x) {
  const at::Tensor x1 = call(cv4, call(cv3, call(cv1, x)));
  std::vector<at::Tensor> parts{x1};
  for (auto& pool : pools_) parts.push_back(call(pool, x1));
  const at::Tensor y1 = call(cv6, call(cv5, at::cat(parts, 1)));
  const at::Tensor y2 = call(cv2, x);
  return call(cv7, at::cat({y1, y2}, 1));
}

CSPSPPFModuleImpl::CSPSPPFModuleImpl(int64_t in, int64_t out, int64_t k, double e, double bn_eps, YoloAct act)
    : torch::nn::Module("CSPSPPFModule") {
  const int64_t c = hidden("CSPSPPFModule", static_cast<int64_t>(out * e));
  cv1 = register_module("cv1", ConvBNAct(conv(in, c, 1, bn_eps, act)));
  cv2 = register_module("cv2", ConvBNAct(conv(in, c, 1, bn_eps, act)));
  cv3 = register_module("cv3", ConvBNAct(conv(c, c, 3, bn_eps, act)));
  cv4 = register_module("cv4", ConvBNAct(conv(c, c, 1, bn_eps, act)));
  m = register_module("m", same_size_pool("CSPSPPFModule", k));
  cv5 = register_module("cv5", ConvBNAct(conv(4 * c, c, 1, bn_eps, act)));
  cv6 = register_module("cv6", ConvBNAct(conv(c, c, 3, bn_eps, act)));
  cv7 = register_module("cv7", ConvBNAct(conv(2 * c, out, 1, bn_eps, act)));
}

at::Tensor CSPSPPFModuleImpl::forward(at::Tensor x) {
  const at::Tensor x1 = call(cv4, call(cv3, call(cv1, x)));
  const at::Tensor y0 = call(cv2, x);
  const at::Tensor y1 = call(m, x1);
  const at::Tensor y2 = call(m, y1);
  const at::Tensor y3 = call(cv6, call(cv5, at::cat({x1, y1, y2, call(m, y2)}, 1)));
  return call(cv7, at::cat({y0, y3}, 1));
}

YoloV6SPPFImpl::YoloV6SPPFImpl(int64_t in, int64_t out, int64_t k, double bn_eps, YoloAct act)
    : torch::nn::Module(act == YoloAct::kReLU ? "SimSPPF" : "SPPF") {
  sppf = register_module("sppf", SPPF(in, out, k, bn_eps, act));
}

at::Tensor YoloV6SPPFImpl::forward(at::Tensor x) { return call(sppf, x); }

YoloV6CSPSPPFImpl::YoloV6CSPSPPFImpl(int64_t in, int64_t out, int64_t k, double e, double bn_eps, YoloAct act)
    : torch::nn::Module(act == YoloAct::kReLU ? "SimCSPSPPF" : "CSPSPPF") {
  cspsppf = register_module("cspsppf", CSPSPPFModule(in, out, k, e, bn_eps, act));
}

at::Tensor YoloV6CSPSPPFImpl::forward(at::Tensor x) { return call(cspsppf, x); }

}  // namespace reskit::layers
