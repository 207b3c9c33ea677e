#pragma once
// Images for SSD-style detectors, through OpenCV: RFBNet's BaseTransform
// (resize to size x size, bilinear; BGR minus per-channel means; no scaling)
// and the picture of what was found.
#include <ATen/core/Tensor.h>

#include <array>
#include <string>
#include <vector>

namespace reskit::io {

struct DetectionInput {
  at::Tensor input;  // 1 x 3 x size x size float32
  int64_t width = 0, height = 0;  // of the original image
};

// One error line naming the file when it is missing or not an image.
DetectionInput load_detection_input(const std::string& path, int64_t size, const std::array<float, 3>& bgr_means);

struct LabelledBox {
  std::array<float, 4> box;  // x1, y1, x2, y2 in pixels
  std::string text;          // drawn above the box
  int64_t colour_index = 0;  // one colour per class
};

// Draws the boxes on the image at `image_path` and writes it to `out_path`
// (its extension picks the format), atomically.
void write_labelled_image(const std::string& image_path, const std::string& out_path,
                          const std::vector<LabelledBox>& boxes);

}  // namespace reskit::io
