#pragma once
// From segmentation logits to a class per pixel of the original image, as
// seeds/004 would draw it: the logits upsampled bilinearly (F.interpolate,
// align_corners=False) to the image's size, then the argmax over classes.
#include <ATen/core/Tensor.h>

#include <cstdint>

namespace reskit::tasks {

// `logits`: C x h x w, or 1 x C x h x w, on any device. Returns height x
// width int64 on the logits' device; of equal maxima the first class wins
// (torch.argmax). Computed in bands of rows, each with PyTorch's source
// indices and weights (upsample_bilinear2d's, in float), so the memory it
// needs is C x (a band) x width, not C x height x width: a 12-megapixel
// photo would otherwise take 1.6 GB for 33 classes.
at::Tensor mask_from_logits(const at::Tensor& logits, int64_t height, int64_t width);

}  // namespace reskit::tasks
