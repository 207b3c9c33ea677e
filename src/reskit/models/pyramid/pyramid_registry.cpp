// The spatial pyramid pooling modules of seeds/002, each from its own code
// base (layers/pyramid_pooling.h, aspp.h, rfb.h), and SPP-net.
#include "reskit/layers/aspp.h"
#include "reskit/layers/pyramid_pooling.h"
#include "reskit/layers/rfb.h"
#include "reskit/models/pyramid/spp_net.h"
#include "reskit/models/registry.h"

namespace reskit::models::pyramid {
namespace {

// The YOLO modules build their BatchNorms with eps 1e-5; checkpoints were
// trained with the 1e-3 that YOLO's initialize_weights() sets afterwards.
constexpr const char* kBnEpsDoc = "BatchNorm eps (1e-5 as the module builds it; YOLO checkpoints were trained with 1e-3)";

struct SppfOptions {
#define RESKIT_FIELDS(X)                                     \
  X(int64_t, c1, 1024, "input channels")                     \
  X(int64_t, c2, 1024, "output channels")                    \
  X(int64_t, k, 5, "pool kernel, applied three times (odd)") \
  X(double, bn_eps, 1e-5, kBnEpsDoc)
  RESKIT_OPTIONS(RESKIT_FIELDS)
#undef RESKIT_FIELDS
};

struct SppYolov5Options {
#define RESKIT_FIELDS(X)                                              \
  X(int64_t, c1, 1024, "input channels")                              \
  X(int64_t, c2, 1024, "output channels")                             \
  X(IntList, k, (IntList{5, 9, 13}), "parallel pool kernels (odd)")   \
  X(double, bn_eps, 1e-5, kBnEpsDoc)
  RESKIT_OPTIONS(RESKIT_FIELDS)
#undef RESKIT_FIELDS
};

struct SppcspcOptions {
#define RESKIT_FIELDS(X)                                              \
  X(int64_t, c1, 1024, "input channels")                              \
  X(int64_t, c2, 512, "output channels")                              \
  X(double, e, 0.5, "hidden channels: int(2 * c2 * e)")               \
  X(IntList, k, (IntList{5, 9, 13}), "three parallel pool kernels (odd)") \
  X(double, bn_eps, 1e-5, kBnEpsDoc)
  RESKIT_OPTIONS(RESKIT_FIELDS)
#undef RESKIT_FIELDS
};

struct YoloV6SppfOptions {
#define RESKIT_FIELDS(X)                                                \
  X(int64_t, in_channels, 1024, "input channels")                       \
  X(int64_t, out_channels, 1024, "output channels")                     \
  X(int64_t, kernel_size, 5, "pool kernel, applied three times (odd)")  \
  X(double, bn_eps, 1e-5, kBnEpsDoc)
  RESKIT_OPTIONS(RESKIT_FIELDS)
#undef RESKIT_FIELDS
};

struct YoloV6CspSppfOptions {
#define RESKIT_FIELDS(X)                                                \
  X(int64_t, in_channels, 1024, "input channels")                       \
  X(int64_t, out_channels, 1024, "output channels")                     \
  X(int64_t, kernel_size, 5, "pool kernel, applied three times (odd)")  \
  X(double, e, 0.5, "hidden channels: int(out_channels * e)")           \
  X(double, bn_eps, 1e-5, kBnEpsDoc)
  RESKIT_OPTIONS(RESKIT_FIELDS)
#undef RESKIT_FIELDS
};

struct AsppOptions {
#define RESKIT_FIELDS(X)                                                  \
  X(int64_t, in_ch, 2048, "input channels")                               \
  X(int64_t, out_ch, 21, "output channels (DeepLab v2: the classes)")     \
  X(IntList, rates, (IntList{6, 12, 18, 24}), "dilation of each branch")
  RESKIT_OPTIONS(RESKIT_FIELDS)
#undef RESKIT_FIELDS
};

ModelInfo info(const char* name, const char* doc, IntList example) { return {name, "pyramid", doc, {"x"}, {example}}; }

std::vector<ModelSpec> specs() {
  using layers::YoloAct;
  const IntList yolo_input{1, 1024, 20, 20};
  return {
      model_spec(info("spp_net", "seeds/002 SPP_NET: any input size (>= 29) to 1000 sigmoid scores", {1, 3, 224, 224}),
                 SppNetOptions(), [](const SppNetOptions& o) { return single_output_model(SppNet(o)); }),
      model_spec(info("sppf", "YOLOv5 SPPF: one 5x5 pool three times (equals SPP 5, 9, 13)", yolo_input), SppfOptions(),
                 [](const SppfOptions& o) { return single_output_model(layers::SPPF(o.c1(), o.c2(), o.k(), o.bn_eps())); }),
      model_spec(info("spp_yolov5", "YOLOv5 SPP: parallel 5, 9, 13 pools", yolo_input), SppYolov5Options(),
                 [](const SppYolov5Options& o) {
                   return single_output_model(layers::YoloSPP(o.c1(), o.c2(), o.k(), o.bn_eps()));
                 }),
      model_spec(info("sppcspc", "YOLOv7 SPPCSPC: SPP in a cross-stage-partial split", yolo_input), SppcspcOptions(),
                 [](const SppcspcOptions& o) {
                   return single_output_model(layers::SPPCSPC(o.c1(), o.c2(), o.e(), o.k(), o.bn_eps()));
                 }),
      model_spec(info("simsppf", "YOLOv6 SimSPPF: SPPF with ReLU", yolo_input), YoloV6SppfOptions(),
                 [](const YoloV6SppfOptions& o) {
                   return single_output_model(
                       layers::YoloV6SPPF(o.in_channels(), o.out_channels(), o.kernel_size(), o.bn_eps(), YoloAct::kReLU));
                 }),
      model_spec(info("sppf_v6", "YOLOv6 SPPF: SPPF with SiLU", yolo_input), YoloV6SppfOptions(),
                 [](const YoloV6SppfOptions& o) {
                   return single_output_model(
                       layers::YoloV6SPPF(o.in_channels(), o.out_channels(), o.kernel_size(), o.bn_eps(), YoloAct::kSiLU));
                 }),
      model_spec(info("simcspsppf", "YOLOv6 SimCSPSPPF: CSP-split SPPF with ReLU", yolo_input), YoloV6CspSppfOptions(),
                 [](const YoloV6CspSppfOptions& o) {
                   return single_output_model(layers::YoloV6CSPSPPF(o.in_channels(), o.out_channels(), o.kernel_size(),
                                                                    o.e(), o.bn_eps(), YoloAct::kReLU));
                 }),
      model_spec(info("cspsppf", "YOLOv6 CSPSPPF: CSP-split SPPF with SiLU", yolo_input), YoloV6CspSppfOptions(),
                 [](const YoloV6CspSppfOptions& o) {
                   return single_output_model(layers::YoloV6CSPSPPF(o.in_channels(), o.out_channels(), o.kernel_size(),
                                                                    o.e(), o.bn_eps(), YoloAct::kSiLU));
                 }),
      model_spec(info("aspp", "DeepLab v2 _ASPP: sum of dilated 3x3 convs", {1, 2048, 41, 41}), AsppOptions(),
                 [](const AsppOptions& o) { return single_output_model(layers::ASPP(o.in_ch(), o.out_ch(), o.rates())); }),
      model_spec(info("basic_rfb", "RFBNet BasicRFB: three dilated branches plus a shortcut", {1, 512, 19, 19}),
                 layers::BasicRFBOptions(),
                 [](const layers::BasicRFBOptions& o) { return single_output_model(layers::BasicRFB(o)); }),
      model_spec(info("basic_rfb_a", "RFBNet BasicRFB_a: four smaller branches plus a shortcut (RFBNet's Norm)",
                      {1, 512, 38, 38}),
                 layers::BasicRFBAOptions(),
                 [](const layers::BasicRFBAOptions& o) { return single_output_model(layers::BasicRFBA(o)); }),
  };
}

}  // namespace

RESKIT_REGISTER_MODELS(pyramid, 1, specs);

}  // namespace reskit::models::pyramid
