#pragma once
// torchvision's conv3x3 / conv1x1: bias-free convolutions, padding = dilation.
#include "reskit/layers/conv.h"

#include <cstdint>

namespace reskit::layers {

Conv2d conv3x3(int64_t in_planes, int64_t out_planes, int64_t stride = 1, int64_t groups = 1,
                          int64_t dilation = 1);
Conv2d conv1x1(int64_t in_planes, int64_t out_planes, int64_t stride = 1);

}  // namespace reskit::layers
