#include "reskit/io/png.h"

#include <png.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "reskit/core/error.h"
#include "reskit/io/atomic_file.h"

namespace reskit::io {
namespace {

// libpng reports errors by longjmp to the setjmp of the calling function.
// Each function below that calls setjmp constructs no C++ object after it,
// and every buffer lives in its caller, so a jump skips no destructor.
struct ErrorSink {
  char message[200] = {0};
  bool from_libpng = false;  // else one of our own checks
  std::string text() const { return (from_libpng ? "libpng: " : "") + std::string(message); }
};

void on_error(png_structp png, png_const_charp text) {
  auto* sink = static_cast<ErrorSink*>(png_get_error_ptr(png));
  std::snprintf(sink->message, sizeof sink->message, "%s", text ? text : "error");
  sink->from_libpng = true;
  png_longjmp(png, 1);
}

// Warnings are about ancillary chunks (colour profiles, text), never the pixels.
void on_warning(png_structp, png_const_charp) {}

struct MemoryInput {
  const png_byte* data;
  size_t size, pos;
};

void read_memory(png_structp png, png_bytep out, png_size_t length) {
  auto* in = static_cast<MemoryInput*>(png_get_io_ptr(png));
  if (length > in->size - in->pos) png_error(png, "the file ends early");
  std::memcpy(out, in->data + in->pos, length);
  in->pos += length;
}

struct ReadStructs {
  png_structp png = nullptr;
  png_infop info = nullptr;
  ~ReadStructs() {
    if (png) png_destroy_read_struct(&png, info ? &info : nullptr, nullptr);
  }
};

struct Header {
  png_uint_32 width = 0, height = 0;
  int bit_depth = 0, color_type = 0, channels = 0;
  size_t rowbytes = 0;
  png_color palette[256];
  int palette_size = 0;
};

// deflate expands at most 1032:1 (zlib's FAQ); with this slack for the
// chunk framing, no valid file holds more image data than this.
uint64_t max_raw_bytes(uint64_t file_bytes) { return 1032 * file_bytes + 4096; }

bool read_header(ReadStructs& s, Header* h, uint64_t file_bytes, ErrorSink* sink) {
  if (setjmp(png_jmpbuf(s.png))) return false;
  png_read_info(s.png, s.info);
  int interlace = 0;
  png_get_IHDR(s.png, s.info, &h->width, &h->height, &h->bit_depth, &h->color_type, &interlace, nullptr, nullptr);
  if (h->width > kMaxPngSide || h->height > kMaxPngSide ||
      uint64_t{h->width} * h->height > static_cast<uint64_t>(kMaxPngPixels)) {
    std::snprintf(sink->message, sizeof sink->message, "%ux%u pixels is larger than the limit (%lld per side, %lld in all)",
                  h->width, h->height, static_cast<long long>(kMaxPngSide), static_cast<long long>(kMaxPngPixels));
    return false;
  }
  const int stored_channels = png_get_channels(s.png, s.info);
  const uint64_t stored_row = (uint64_t{h->width} * stored_channels * h->bit_depth + 7) / 8;
  if (uint64_t{h->height} * (stored_row + 1) > max_raw_bytes(file_bytes)) {
    std::snprintf(sink->message, sizeof sink->message, "its header claims %ux%u pixels, more than its %llu bytes can hold",
                  h->width, h->height, static_cast<unsigned long long>(file_bytes));
    return false;
  }
  if (h->color_type == PNG_COLOR_TYPE_PALETTE) {
    png_colorp colours = nullptr;
    int count = 0;
    if (png_get_PLTE(s.png, s.info, &colours, &count) && colours && count > 0) {
      h->palette_size = count > 256 ? 256 : count;
      std::memcpy(h->palette, colours, sizeof(png_color) * h->palette_size);
    }
  }
  if (h->bit_depth < 8) png_set_packing(s.png);  // one byte per sample, the value unscaled
  png_set_interlace_handling(s.png);
  png_read_update_info(s.png, s.info);
  h->rowbytes = png_get_rowbytes(s.png, s.info);
  h->channels = png_get_channels(s.png, s.info);
  return true;
}

bool read_rows(ReadStructs& s, png_bytepp rows) {
  if (setjmp(png_jmpbuf(s.png))) return false;
  png_read_image(s.png, rows);
  return true;
}

struct WriteStructs {
  png_structp png = nullptr;
  png_infop info = nullptr;
  ~WriteStructs() {
    if (png) png_destroy_write_struct(&png, info ? &info : nullptr);
  }
};

struct MemoryOutput {
  std::string* bytes;
  bool failed;
};

void write_memory(png_structp png, png_bytep data, png_size_t length) {
  auto* out = static_cast<MemoryOutput*>(png_get_io_ptr(png));
  try {
    out->bytes->append(reinterpret_cast<const char*>(data), length);
  } catch (...) {
    out->failed = true;
  }
  if (out->failed) png_error(png, "out of memory");
}

void flush_memory(png_structp) {}

bool write_all(WriteStructs& s, png_uint_32 width, png_uint_32 height, int color_type, const png_color* palette,
               int palette_size, png_bytepp rows) {
  if (setjmp(png_jmpbuf(s.png))) return false;
  png_set_IHDR(s.png, s.info, width, height, 8, color_type, PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
               PNG_FILTER_TYPE_DEFAULT);
  if (color_type == PNG_COLOR_TYPE_PALETTE) png_set_PLTE(s.png, s.info, palette, palette_size);
  png_set_compression_level(s.png, 6);
  png_write_info(s.png, s.info);
  png_write_image(s.png, rows);
  png_write_end(s.png, nullptr);
  return true;
}

}  // namespace

bool has_png_signature(const std::string& bytes) {
  return bytes.size() >= 8 && png_sig_cmp(reinterpret_cast<png_const_bytep>(bytes.data()), 0, 8) == 0;
}

PngPixels decode_png(const std::string& bytes, const std::string& name, PngReadCost* cost) {
  if (cost) *cost = PngReadCost{bytes.size(), 0};
  if (!has_png_signature(bytes)) throw Error(name + ": not a PNG file");
  ErrorSink sink;
  ReadStructs s;
  s.png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &sink, on_error, on_warning);
  if (s.png) s.info = png_create_info_struct(s.png);
  if (!s.png || !s.info) throw Error(name + ": libpng cannot start");
  png_set_chunk_malloc_max(s.png, 8 << 20);  // one ancillary chunk (a colour profile, text)
  png_set_chunk_cache_max(s.png, 1000);
  png_set_check_for_invalid_index(s.png, 0);  // an index past the palette is still the stored index
  MemoryInput input{reinterpret_cast<const png_byte*>(bytes.data()), bytes.size(), 0};
  png_set_read_fn(s.png, &input, read_memory);

  Header h;
  if (!read_header(s, &h, bytes.size(), &sink)) throw Error(name + ": " + sink.text());
  PngPixels out;
  out.width = h.width;
  out.height = h.height;
  out.channels = h.channels;
  out.bit_depth = h.bit_depth;
  out.indexed = h.color_type == PNG_COLOR_TYPE_PALETTE;
  for (int i = 0; i < h.palette_size; ++i) out.palette.push_back({h.palette[i].red, h.palette[i].green, h.palette[i].blue});

  const uint64_t pixels = uint64_t{h.width} * h.height;
  std::vector<uint8_t> raw;
  uint8_t* target = nullptr;
  if (h.bit_depth == 16) {
    raw.resize(h.rowbytes * h.height);
    target = raw.data();
  } else {
    out.samples.resize(pixels * h.channels);
    target = out.samples.data();
  }
  if (cost) cost->decoded_bytes = uint64_t{h.rowbytes} * h.height;
  std::vector<png_bytep> rows(h.height);
  for (png_uint_32 y = 0; y < h.height; ++y) rows[y] = target + y * h.rowbytes;
  if (h.height > 0 && !read_rows(s, rows.data())) throw Error(name + ": " + sink.text());

  if (h.bit_depth == 16) {
    out.wide.resize(pixels * h.channels);
    for (size_t i = 0; i < out.wide.size(); ++i) out.wide[i] = static_cast<uint16_t>((raw[2 * i] << 8) | raw[2 * i + 1]);
    if (cost) cost->decoded_bytes += out.wide.size() * 2;
  }
  return out;
}

PngPixels read_png(const std::string& path, PngReadCost* cost) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) throw Error("'" + path + "' does not exist");
  const uint64_t size = std::filesystem::file_size(path, ec);
  if (ec) throw Error("cannot read '" + path + "'");
  if (size > kMaxPngFileBytes) {
    if (cost) *cost = PngReadCost{size, 0};
    throw Error("'" + path + "' is larger than " + std::to_string(kMaxPngFileBytes >> 20) + " MiB");
  }
  std::ifstream in(path, std::ios::binary);
  std::string bytes(size, '\0');
  if (!in.read(bytes.data(), static_cast<std::streamsize>(size))) throw Error("cannot read '" + path + "'");
  return decode_png(bytes, "'" + path + "'", cost);
}

std::string encode_png(const uint8_t* samples, int64_t width, int64_t height, PngKind kind,
                       const std::vector<std::array<uint8_t, 3>>& palette) {
  if (width < 1 || height < 1 || width > kMaxPngSide || height > kMaxPngSide)
    throw Error("cannot write a PNG of " + std::to_string(width) + "x" + std::to_string(height) + " pixels");
  const int channels = kind == PngKind::kRgb ? 3 : 1;
  const int color_type = kind == PngKind::kRgb     ? PNG_COLOR_TYPE_RGB
                         : kind == PngKind::kGray ? PNG_COLOR_TYPE_GRAY
                                                  : PNG_COLOR_TYPE_PALETTE;
  png_color colours[256];
  if (kind == PngKind::kPalette) {
    if (palette.empty() || palette.size() > 256)
      throw Error("a palette PNG needs 1 to 256 colours, got " + std::to_string(palette.size()));
    for (size_t i = 0; i < palette.size(); ++i) colours[i] = {palette[i][0], palette[i][1], palette[i][2]};
    const int64_t n = width * height;
    for (int64_t i = 0; i < n; ++i)
      if (samples[i] >= palette.size())
        throw Error("a palette PNG's index " + std::to_string(samples[i]) + " is past its " +
                    std::to_string(palette.size()) + " colours");
  }
  std::string bytes;
  ErrorSink sink;
  WriteStructs s;
  s.png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &sink, on_error, on_warning);
  if (s.png) s.info = png_create_info_struct(s.png);
  if (!s.png || !s.info) throw Error("libpng cannot start");
  MemoryOutput output{&bytes, false};
  png_set_write_fn(s.png, &output, write_memory, flush_memory);
  std::vector<png_bytep> rows(height);
  for (int64_t y = 0; y < height; ++y) rows[y] = const_cast<png_bytep>(samples + y * width * channels);
  if (!write_all(s, static_cast<png_uint_32>(width), static_cast<png_uint_32>(height), color_type, colours,
                 static_cast<int>(palette.size()), rows.data()))
    throw Error(sink.text());
  return bytes;
}

void write_png(const std::string& path, const uint8_t* samples, int64_t width, int64_t height, PngKind kind,
               const std::vector<std::array<uint8_t, 3>>& palette) {
  const std::string bytes = encode_png(samples, width, height, kind, palette);
  AtomicFile file(path);
  file.stream().write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  file.commit();
}

}  // namespace reskit::io
