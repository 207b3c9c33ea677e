#pragma once
// Pictures of segmentations and of training, through OpenCV: a class-index
// mask in a palette's colours, those colours blended over the image, the
// three PNGs `reskit segment` writes, and the training curves of train-seg.
#include <ATen/core/Tensor.h>

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace reskit::io {

// RGB per class index: the type of tasks::ClassColours (io cannot include tasks/).
using Palette = std::vector<std::array<uint8_t, 3>>;

// H x W class indices (any integer type) to H x W x 3 uint8 RGB. An index
// the palette has no colour for (the ignore label 255 among them, unless the
// palette has 256 colours; a negative one) is black.
at::Tensor colourise_mask(const at::Tensor& mask, const Palette& palette);

// The colours (H x W x 3 uint8 RGB) blended over the image (H x W x 3 uint8
// BGR, as read_bgr_image gives it): image * (1 - alpha) + colour * alpha,
// rounded (OpenCV's addWeighted). Returns H x W x 3 uint8 BGR.
at::Tensor overlay_colours(const at::Tensor& bgr_image, const at::Tensor& rgb_colours, double alpha = 0.5);

struct SegmentationPaths {
  std::string mask;     // the class indices as an 8-bit grey PNG (original resolution)
  std::string colour;   // colourise_mask's picture
  std::string overlay;  // overlay_colours' picture, alpha 0.5
};
// Encodes all three first (a class above 255 cannot be an 8-bit PNG: an
// error before anything is written), then writes each atomically.
void write_segmentation_pngs(const at::Tensor& bgr_image, const at::Tensor& mask, const Palette& palette,
                             const SegmentationPaths& paths);

// Training curves against epoch: the loss on a panel of its own (0 to its
// maximum), the accuracies and mIoU on a second (0 to 1), each with a
// legend. NaN values (an epoch without validation) leave gaps.
struct TrainingCurves {
  std::vector<double> epoch, train_loss, train_pixel_acc, val_pixel_acc, val_miou;
};
// A PNG at `path`, written atomically; series shorter than `epoch` are an error.
void write_training_curves(const std::string& path, const TrainingCurves& curves);

}  // namespace reskit::io
