#pragma once
// 2D-to-3D inflation as mmaction2's ResNet3d does it with pretrained2d=True
// (inflate_weights): each ConvModule of the 3D network takes the torchvision
// ResNet's conv of the same name (`layer1.0.conv1` <- `layer1.0.conv1`,
// `conv1` <- `conv1`, `...downsample` <- `...downsample.0`), its kernel
// repeated along time and divided by the temporal length, and its BatchNorm
// (`layer1.0.bn1`, `bn1`, `...downsample.1`) copied. A conv whose 2D shape
// does not fit, or that the file lacks, keeps its initialisation and is listed.
#include <torch/nn/module.h>

#include <string>
#include <utility>
#include <vector>

namespace reskit::models::video {

using NamedTensors = std::vector<std::pair<std::string, at::Tensor>>;

struct InflateReport {
  std::vector<std::string> inflated;      // the 3D model's tensors filled from the 2D file
  std::vector<std::string> not_inflated;  // "name: why" for each conv or norm left as initialised
  std::vector<std::string> unused;        // the 2D file's tensors nothing took (fc.*, ...)
};

// `model` is a ResNet3d or holds one as `backbone` (i3d_r50); names in the
// report are the model's own (`backbone.layer1.0.conv1.conv.weight`).
InflateReport inflate_2d_weights(torch::nn::Module& model, const NamedTensors& weights_2d);

}  // namespace reskit::models::video
