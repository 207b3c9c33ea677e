#include "reskit/models/video/inflate.h"

#include <map>
#include <set>

#include "reskit/core/error.h"
#include "reskit/layers/conv_module.h"
#include "reskit/models/video/resnet3d.h"

namespace reskit::models::video {
namespace {

std::string shape_text(at::IntArrayRef s) {
  std::string t = "[";
  for (size_t i = 0; i < s.size(); ++i) t += (i ? ", " : "") + std::to_string(s[i]);
  return t + "]";
}

// mmaction2: `downsample` -> `.0` / `.1`; otherwise the conv's own name and
// the name with "conv" replaced by "bn" (conv1 -> bn1, layer1.0.conv2 -> layer1.0.bn2).
std::pair<std::string, std::string> names_2d(const std::string& name) {
  if (name.find("downsample") != std::string::npos) return {name + ".0", name + ".1"};
  std::string bn = name;
  for (size_t at = bn.find("conv"); at != std::string::npos; at = bn.find("conv", at + 2)) bn.replace(at, 4, "bn");
  return {name, bn};
}

}  // namespace

InflateReport inflate_2d_weights(torch::nn::Module& model, const NamedTensors& weights_2d) {
  std::string prefix;
  torch::nn::Module* backbone = &model;
  if (!dynamic_cast<ResNet3dImpl*>(&model)) {
    const auto children = model.named_children();
    const auto* found = children.find("backbone");
    if (!found || !std::dynamic_pointer_cast<ResNet3dImpl>(*found))
      throw Error("inflate: " + model.name() + " is not a ResNet3d and has no ResNet3d backbone");
    backbone = found->get();
    prefix = "backbone.";
  }
  std::map<std::string, at::Tensor> r2d(weights_2d.begin(), weights_2d.end());
  std::set<std::string> taken;
  InflateReport report;
  torch::NoGradGuard no_grad;
  for (const auto& item : backbone->named_modules("", /*include_self=*/false)) {
    auto* conv_module = dynamic_cast<layers::ConvModuleImpl*>(item.value().get());
    if (!conv_module) continue;
    const std::string name = item.key();
    const auto [conv_2d, bn_2d] = names_2d(name);

    const auto conv_params = conv_module->conv()->named_parameters(false);
    at::Tensor weight = conv_params["weight"];
    const auto it = r2d.find(conv_2d + ".weight");
    if (it == r2d.end()) {
      report.not_inflated.push_back(prefix + name + ".conv: the 2D file has no " + conv_2d + ".weight");
    } else {
      const at::Tensor& w2 = it->second;
      std::vector<int64_t> expect(weight.sizes().begin(), weight.sizes().end());
      expect.erase(expect.begin() + 2);  // the 3D kernel without its time axis
      if (w2.sizes() != at::IntArrayRef(expect)) {
        report.not_inflated.push_back(prefix + name + ".conv: 3D weight " + shape_text(weight.sizes()) + " vs 2D " +
                                      shape_text(w2.sizes()));
      } else {
        const int64_t kt = weight.size(2);
        weight.copy_(w2.to(weight.dtype()).unsqueeze(2).expand_as(weight) / kt);
        taken.insert(conv_2d + ".weight");
        report.inflated.push_back(prefix + name + ".conv.weight");
        if (conv_params.contains("bias") && conv_params["bias"].defined()) {
          const auto b = r2d.find(conv_2d + ".bias");
          if (b != r2d.end()) {
            conv_params["bias"].copy_(b->second);
            taken.insert(conv_2d + ".bias");
            report.inflated.push_back(prefix + name + ".conv.bias");
          }
        }
      }
    }

    if (!conv_module->norm()) continue;
    const std::string norm_name = prefix + name + ".bn";
    if (conv_module->options().norm().type != layers::NormType::kBN) {
      report.not_inflated.push_back(prefix + name + ": its norm is not a BatchNorm");
      continue;
    }
    if (!r2d.count(bn_2d + ".weight")) {
      report.not_inflated.push_back(prefix + name + ".bn: the 2D file has no " + bn_2d + ".weight");
      continue;
    }
    // As mmaction2: a parameter of another shape skips the whole norm.
    const auto params = conv_module->norm()->named_parameters(false);
    const auto buffers = conv_module->norm()->named_buffers(false);
    std::string mismatch;
    for (const auto& p : params) {
      const auto src = r2d.find(bn_2d + "." + p.key());
      if (src != r2d.end() && src->second.sizes() != p.value().sizes()) {
        mismatch = p.key() + " 3D " + shape_text(p.value().sizes()) + " vs 2D " + shape_text(src->second.sizes());
        break;
      }
    }
    if (!mismatch.empty()) {
      report.not_inflated.push_back(norm_name + ": " + mismatch);
      continue;
    }
    for (const auto* group : {&params, &buffers})
      for (const auto& t : *group) {
        const auto src = r2d.find(bn_2d + "." + t.key());
        if (src == r2d.end() || src->second.sizes() != t.value().sizes()) continue;
        t.value().copy_(src->second);
        taken.insert(bn_2d + "." + t.key());
        report.inflated.push_back(norm_name + "." + t.key());
      }
  }
  for (const auto& [key, value] : weights_2d)
    if (!taken.count(key)) report.unused.push_back(key);
  return report;
}

}  // namespace reskit::models::video
