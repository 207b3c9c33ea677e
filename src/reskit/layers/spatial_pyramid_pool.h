#pragma once
// Spatial pyramid pooling as SPP-net (seeds/002) does it: for each level l,
// a max pool whose kernel and stride are ceil(size / l) and whose padding
// is (kernel * l - size + 1) // 2 gives an l x l grid; the grids of all
// levels, flattened per sample, are concatenated. Any input size gives
// N x C * sum(l * l).
#include <ATen/ATen.h>

#include <vector>

namespace reskit::layers {

// x: N x C x H x W. Throws reskit::Error when a level needs more padding than
// max pooling allows (half its kernel): the input is too small for it.
at::Tensor spatial_pyramid_pool(const at::Tensor& x, const std::vector<int64_t>& levels);

}  // namespace reskit::layers
