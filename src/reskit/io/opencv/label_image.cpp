#include "reskit/io/opencv/label_image.h"

#include <ATen/ATen.h>
#include <opencv2/imgcodecs.hpp>

#include <filesystem>
#include <fstream>
#include <unordered_map>

#include "reskit/core/error.h"

namespace reskit::io {
namespace {

std::string quoted(const std::string& s) { return "'" + s + "'"; }

std::string read_capped_file(const std::string& path, PngReadCost* cost) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) throw Error("label " + quoted(path) + " does not exist");
  const uint64_t size = std::filesystem::file_size(path, ec);
  if (ec) throw Error("cannot read label " + quoted(path));
  if (cost) *cost = PngReadCost{size, 0};
  if (size > kMaxPngFileBytes)
    throw Error("label " + quoted(path) + " is larger than " + std::to_string(kMaxPngFileBytes >> 20) + " MiB");
  std::ifstream in(path, std::ios::binary);
  std::string bytes(size, '\0');
  if (!in.read(bytes.data(), static_cast<std::streamsize>(size))) throw Error("cannot read label " + quoted(path));
  return bytes;
}

// Each pixel's colour (3 samples at `step` apart per pixel) through the
// table; unknown colours are ignored pixels.
void map_colours(const uint8_t* rgb, int step, int64_t pixels, const LabelColours& colours, uint8_t* out,
                 const std::string& path) {
  std::unordered_map<uint32_t, uint8_t> index;
  for (size_t i = 0; i < colours.size() && i < 255; ++i)
    index.emplace((uint32_t{colours[i][0]} << 16) | (colours[i][1] << 8) | colours[i][2], static_cast<uint8_t>(i));
  uint32_t last_key = 0xffffffff;
  uint8_t last = 255;
  int64_t known = 0;
  for (int64_t i = 0; i < pixels; ++i, rgb += step) {
    const uint32_t key = (uint32_t{rgb[0]} << 16) | (rgb[1] << 8) | rgb[2];
    if (key != last_key) {
      const auto it = index.find(key);
      last = it == index.end() ? 255 : it->second;
      last_key = key;
    }
    known += last != 255;
    out[i] = last;
  }
  if (pixels > 0 && known == 0)
    throw Error("label " + quoted(path) + ": no pixel has a colour of the class colour table (an index label stored "
                "as RGB? then give no colour table)");
}

// H x W uint8, contiguous, on the CPU; values outside 0..255 are an error.
at::Tensor as_label_bytes(const at::Tensor& labels, const std::string& path) {
  if (!labels.defined() || labels.dim() != 2 || labels.numel() == 0)
    throw Error("cannot write " + quoted(path) + ": labels must be an H x W tensor");
  at::Tensor l = labels.cpu();
  if (l.scalar_type() != at::kByte) {
    if (at::isFloatingType(l.scalar_type()) || l.min().item<int64_t>() < 0 || l.max().item<int64_t>() > 255)
      throw Error("cannot write " + quoted(path) + ": labels must be integers 0..255");
    l = l.to(at::kByte);
  }
  return l.contiguous();
}

std::vector<std::array<uint8_t, 3>> padded_palette(const LabelColours& palette) {
  std::vector<std::array<uint8_t, 3>> full(256, {255, 255, 255});
  for (size_t i = 0; i < palette.size() && i < 256; ++i) full[i] = palette[i];
  return full;
}

LabelRead from_png(const PngPixels& p, const LabelColours& colours, const std::string& path) {
  LabelRead r;
  const int64_t pixels = p.width * p.height;
  r.labels = at::empty({p.height, p.width}, at::kByte);
  uint8_t* out = r.labels.data_ptr<uint8_t>();
  if (p.channels <= 2) {  // gray, gray + alpha, palette: the first sample is the index
    r.source = p.indexed ? LabelSource::kPalette : LabelSource::kIndex;
    for (int64_t i = 0; i < pixels; ++i) {
      if (p.bit_depth == 16) {
        const uint16_t v = p.wide[i * p.channels];
        if (v > 255)
          throw Error("label " + quoted(path) + ": the 16-bit sample " + std::to_string(v) +
                      " is not a class index (0-255)");
        out[i] = static_cast<uint8_t>(v);
      } else {
        out[i] = p.samples[i * p.channels];
      }
    }
    return r;
  }
  std::vector<uint8_t> narrowed;  // 16-bit colours: their high bytes
  const uint8_t* rgb = p.samples.data();
  if (p.bit_depth == 16) {
    narrowed.resize(p.wide.size());
    for (size_t i = 0; i < p.wide.size(); ++i) narrowed[i] = static_cast<uint8_t>(p.wide[i] >> 8);
    rgb = narrowed.data();
  }
  if (colours.empty()) {
    r.source = LabelSource::kChannel0;
    for (int64_t i = 0; i < pixels; ++i) out[i] = rgb[i * p.channels];
  } else {
    r.source = LabelSource::kColours;
    map_colours(rgb, p.channels, pixels, colours, out, path);
  }
  return r;
}

// BMP, TIFF and the other formats OpenCV reads, by the same rules.
LabelRead from_opencv(const std::string& bytes, const LabelColours& colours, const std::string& path) {
  const cv::Mat raw(1, static_cast<int>(bytes.size()), CV_8U, const_cast<char*>(bytes.data()));
  cv::Mat m;
  try {
    m = cv::imdecode(raw, cv::IMREAD_UNCHANGED);
  } catch (const cv::Exception&) {
    m = cv::Mat();
  }
  if (m.empty()) throw Error("label " + quoted(path) + " cannot be decoded as an image");
  if (m.depth() != CV_8U) throw Error("label " + quoted(path) + ": only 8-bit samples are read outside PNG");
  LabelRead r;
  r.labels = at::empty({m.rows, m.cols}, at::kByte);
  uint8_t* out = r.labels.data_ptr<uint8_t>();
  const int ch = m.channels();
  if (ch <= 2) {
    r.source = LabelSource::kIndex;
    for (int y = 0; y < m.rows; ++y)
      for (int x = 0; x < m.cols; ++x) out[int64_t{y} * m.cols + x] = m.ptr<uint8_t>(y)[x * ch];
    return r;
  }
  // OpenCV gives BGR(A): reorder to RGB first.
  std::vector<uint8_t> rgb(static_cast<size_t>(m.rows) * m.cols * 3);
  for (int y = 0; y < m.rows; ++y)
    for (int x = 0; x < m.cols; ++x) {
      const uint8_t* px = m.ptr<uint8_t>(y) + x * ch;
      uint8_t* o = rgb.data() + (int64_t{y} * m.cols + x) * 3;
      o[0] = px[2], o[1] = px[1], o[2] = px[0];
    }
  if (colours.empty()) {
    r.source = LabelSource::kChannel0;
    for (int64_t i = 0; i < int64_t{m.rows} * m.cols; ++i) out[i] = rgb[i * 3];
  } else {
    r.source = LabelSource::kColours;
    map_colours(rgb.data(), 3, int64_t{m.rows} * m.cols, colours, out, path);
  }
  return r;
}

}  // namespace

LabelRead read_label(const std::string& path, const LabelColours& colours, PngReadCost* cost) {
  const std::string bytes = read_capped_file(path, cost);
  if (has_png_signature(bytes)) {
    const PngPixels p = decode_png(bytes, "label " + quoted(path), cost);
    return from_png(p, colours, path);
  }
  return from_opencv(bytes, colours, path);
}

at::Tensor read_label_image(const std::string& path, const LabelColours& colours) {
  return read_label(path, colours).labels;
}

void write_index_png(const std::string& path, const at::Tensor& labels) {
  const at::Tensor l = as_label_bytes(labels, path);
  write_png(path, l.data_ptr<uint8_t>(), l.size(1), l.size(0), PngKind::kGray);
}

void write_palette_png(const std::string& path, const at::Tensor& labels, const LabelColours& palette) {
  const at::Tensor l = as_label_bytes(labels, path);
  write_png(path, l.data_ptr<uint8_t>(), l.size(1), l.size(0), PngKind::kPalette, padded_palette(palette));
}

void write_colour_png(const std::string& path, const at::Tensor& labels, const LabelColours& palette) {
  const at::Tensor l = as_label_bytes(labels, path);
  const std::vector<std::array<uint8_t, 3>> full = padded_palette(palette);
  const int64_t n = l.numel();
  std::vector<uint8_t> rgb(static_cast<size_t>(n) * 3);
  const uint8_t* in = l.data_ptr<uint8_t>();
  for (int64_t i = 0; i < n; ++i)
    for (int k = 0; k < 3; ++k) rgb[i * 3 + k] = full[in[i]][k];
  write_png(path, rgb.data(), l.size(1), l.size(0), PngKind::kRgb);
}

void write_rgb_png(const std::string& path, const at::Tensor& rgb) {
  if (!rgb.defined() || rgb.dim() != 3 || rgb.size(2) != 3 || rgb.scalar_type() != at::kByte)
    throw Error("cannot write " + quoted(path) + ": an image must be an H x W x 3 uint8 tensor");
  const at::Tensor c = rgb.cpu().contiguous();
  write_png(path, c.data_ptr<uint8_t>(), c.size(1), c.size(0), PngKind::kRgb);
}

}  // namespace reskit::io
