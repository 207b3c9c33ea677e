#pragma once
// PNG files through libpng, where the stored numbers matter: a palette PNG
// gives its indices (OpenCV's imread expands them to the palette's colours)
// and a 1/2/4-bit image its raw samples, unscaled. Used for class-index
// labels (io/opencv/label_image.h) and for writing images byte-exactly.
//
// Reading is outside input, so its cost is bounded by the file's size: a
// file over kMaxPngFileBytes is refused before it is read, sides over
// kMaxPngSide or more than kMaxPngPixels pixels are refused from the header,
// and so is a header that claims more image data than deflate can expand
// the file's bytes to (1032:1), so a tiny file cannot make a large
// allocation. `cost`, when given, receives what was read and decoded, also
// when reading fails: the tests and the fuzz target check it.
#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace reskit::io {

constexpr uint64_t kMaxPngFileBytes = uint64_t{256} << 20;
constexpr int64_t kMaxPngSide = 1 << 15;
constexpr int64_t kMaxPngPixels = int64_t{1} << 25;

struct PngPixels {
  int64_t width = 0, height = 0;
  int channels = 0;      // 1: gray or palette index, 2: gray + alpha, 3: RGB, 4: RGBA
  bool indexed = false;  // a palette PNG: samples are the stored palette indices
  int bit_depth = 0;     // as stored: 1, 2, 4, 8 or 16
  // height x width x channels samples; 8 bits and fewer: the raw value in a
  // byte (`samples`); 16 bits: `wide` instead.
  std::vector<uint8_t> samples;
  std::vector<uint16_t> wide;
  std::vector<std::array<uint8_t, 3>> palette;  // PLTE, RGB
};

struct PngReadCost {
  uint64_t file_bytes = 0;     // the input's size
  uint64_t decoded_bytes = 0;  // pixel memory allocated
};

// `bytes` is a whole file; `name` is used in error messages, which are one
// line ("NAME: not a PNG file", "NAME: libpng: <its message>", "NAME: its
// header claims ...").
PngPixels decode_png(const std::string& bytes, const std::string& name, PngReadCost* cost = nullptr);
PngPixels read_png(const std::string& path, PngReadCost* cost = nullptr);
// Whether `bytes` starts with PNG's signature.
bool has_png_signature(const std::string& bytes);

enum class PngKind { kGray, kPalette, kRgb };  // 8-bit samples; 1, 1 and 3 per pixel
// A PNG of height x width pixels (row-major, `kind`'s samples per pixel);
// kPalette writes `palette` (at most 256 colours) as PLTE, and every index
// must be below its size. Deterministic: the same pixels give the same bytes.
std::string encode_png(const uint8_t* samples, int64_t width, int64_t height, PngKind kind,
                       const std::vector<std::array<uint8_t, 3>>& palette = {});
// encode_png written through io::AtomicFile.
void write_png(const std::string& path, const uint8_t* samples, int64_t width, int64_t height, PngKind kind,
               const std::vector<std::array<uint8_t, 3>>& palette = {});

}  // namespace reskit::io
