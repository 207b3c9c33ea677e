// siamban_r50: SiamBAN's model (the tracker around it is tasks/tracking).
#include <ATen/ops/rand.h>

#include "reskit/models/registry.h"
#include "reskit/models/tracking/siamban.h"

namespace reskit::models::tracking {
namespace {

const IntList kTemplateSize = {1, 3, 127, 127}, kSearchSize = {1, 3, 255, 255};

std::vector<at::Tensor> flatten(const TemplateKernels& k) {
  std::vector<at::Tensor> out = k.cls;
  out.insert(out.end(), k.loc.begin(), k.loc.end());
  return out;
}

Model build_siamban(const SiamBANOptions& o) {
  SiamBAN net(o);
  Model model;
  model.module = net.ptr();
  model.forward = [net](const std::vector<at::Tensor>& in) mutable {
    auto [cls, loc] = net->forward(in[0], in[1]);
    return std::vector<at::Tensor>{cls, loc};
  };
  model.entries.push_back({"template", {"z"}, {kTemplateSize}, [net]() -> Forward {
                             return [net](const std::vector<at::Tensor>& in) mutable {
                               return flatten(net->template_kernels(in[0]));
                             };
                           }});
  // The per-frame work: the template's kernels are made once, at bind.
  model.entries.push_back({"track", {"x"}, {kSearchSize}, [net]() mutable -> Forward {
                             at::NoGradGuard no_grad;
                             const TemplateKernels kernels = net->template_kernels(at::rand(kTemplateSize) * 255);
                             return [net, kernels](const std::vector<at::Tensor>& in) mutable {
                               auto [cls, loc] = net->track(in[0], kernels);
                               return std::vector<at::Tensor>{cls, loc};
                             };
                           }});
  return model;
}

std::vector<ModelSpec> specs() {
  return {model_spec({"siamban_r50", "tracking",
                      "SiamBAN (siamban_r50_l234): classification N x 2 x 25 x 25 and box offsets N x 4 x 25 x 25 "
                      "of a 127 x 127 template z and a 255 x 255 search region x, raw BGR on 0..255 "
                      "(entry points: template, track; reskit track runs the tracker)",
                      {"z", "x"}, {kTemplateSize, kSearchSize}},
                     SiamBANOptions(), build_siamban)};
}

}  // namespace

RESKIT_REGISTER_MODELS(tracking, 1, specs);

}  // namespace reskit::models::tracking
