#pragma once
// Segmentation labels: files of class indices (255: ignored), read as an
// H x W uint8 tensor and written as PNGs.
//
// What a file holds decides how it is read:
//   grayscale PNG (1/2/4/8/16 bits)  its samples are the indices, unscaled
//                                    (a 16-bit sample over 255 is an error);
//   palette PNG (1/2/4/8 bits)       its stored indices, through libpng
//                                    (OpenCV's imread would give the colours);
//   RGB(A) PNG, with `colours`       each pixel's colour looked up in the
//                                    class colour table, unknown ones -> 255;
//   RGB(A) PNG, without              channel 0 (R), as seeds/004 reads
//                                    mask[:, :, 0] after convert('RGB');
//   other formats (BMP, TIFF)        through OpenCV, by the same rules.
// Alpha is dropped. A colour-coded label none of whose pixels has a colour of
// the table is an error: it is an index label stored as RGB, or the wrong table.
// Cost: io/png.h's bounds (the file's size caps what is decoded).
#include <ATen/core/Tensor.h>

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "reskit/io/png.h"

namespace reskit::io {

// RGB per class index: tasks::ClassColours.
using LabelColours = std::vector<std::array<uint8_t, 3>>;

enum class LabelSource { kIndex, kPalette, kChannel0, kColours };

struct LabelRead {
  at::Tensor labels;  // H x W uint8
  LabelSource source = LabelSource::kIndex;
};

LabelRead read_label(const std::string& path, const LabelColours& colours = {}, PngReadCost* cost = nullptr);
// read_label(...).labels
at::Tensor read_label_image(const std::string& path, const LabelColours& colours = {});

// `labels`: H x W uint8 (or any integer type with values 0..255). Written
// through io::AtomicFile:
//   an 8-bit grayscale PNG of the indices;
void write_index_png(const std::string& path, const at::Tensor& labels);
//   an 8-bit palette PNG of the indices, `palette` as its colours (padded to
//   256 entries with white, so 255, the ignore label, shows white);
void write_palette_png(const std::string& path, const at::Tensor& labels, const LabelColours& palette);
//   an RGB PNG of each index's colour in `palette` (white past its end).
void write_colour_png(const std::string& path, const at::Tensor& labels, const LabelColours& palette);

// H x W x 3 uint8 RGB, as an 8-bit RGB PNG.
void write_rgb_png(const std::string& path, const at::Tensor& rgb);

}  // namespace reskit::io
