#pragma once
// Images in, through OpenCV (built only with RESKIT_WITH_OPENCV).
#include <ATen/core/Tensor.h>

#include <string>

namespace reskit::io {

// torchvision's ImageNet eval transform: resize the short side to
// `resize_short` (bilinear), centre-crop `crop`, RGB in [0, 1], then
// normalise with ImageNet's mean and std. Returns 1x3xCROPxCROP float32.
at::Tensor load_imagenet_image(const std::string& path, int64_t resize_short = 256, int64_t crop = 224);

// The OpenCV this build links, e.g. "4.6.0".
std::string opencv_version();

}  // namespace reskit::io
