#include "reskit/layers/conv_helpers.h"

namespace reskit::layers {

Conv2d conv3x3(int64_t in_planes, int64_t out_planes, int64_t stride, int64_t groups, int64_t dilation) {
  return Conv2d(torch::nn::Conv2dOptions(in_planes, out_planes, 3)
                               .stride(stride)
                               .padding(dilation)
                               .groups(groups)
                               .dilation(dilation)
                               .bias(false));
}

Conv2d conv1x1(int64_t in_planes, int64_t out_planes, int64_t stride) {
  return Conv2d(torch::nn::Conv2dOptions(in_planes, out_planes, 1).stride(stride).bias(false));
}

}  // namespace reskit::layers
