// Label files against what PIL and numpy read from them (tests/reference/
// make_seg_data.py): grayscale 1/8/16-bit, palette PNGs at 1/2/4/8 bits (the
// stored indices, not the colours), RGB channel 0, colours through a table,
// BMP through OpenCV; the writers read back by reskit and by PIL; hostile
// PNGs refused at a cost bounded by their size.
#include <gtest/gtest.h>
#include <ATen/ATen.h>

#include <filesystem>
#include <functional>
#include <fstream>

#include "reskit/core/error.h"
#include "reskit/io/npy.h"
#include "reskit/io/opencv/label_image.h"
#include "reskit/io/png.h"
#include "reskit/tasks/seg_data.h"
#include "test_util.h"

namespace reskit {
namespace {

namespace fs = std::filesystem;

std::string labels_dir() { return test::fixture("seg_data/labels"); }

io::LabelColours fixture_colours() { return tasks::read_class_colours(labels_dir() + "/colours.txt"); }

const char* source_name(io::LabelSource s) {
  switch (s) {
    case io::LabelSource::kIndex: return "index";
    case io::LabelSource::kPalette: return "palette";
    case io::LabelSource::kChannel0: return "channel0";
    case io::LabelSource::kColours: return "colours";
  }
  return "?";
}

// PNG's chunk CRC (ISO 3309), to forge headers.
uint32_t crc32(const std::string& bytes) {
  uint32_t c = 0xffffffffu;
  for (unsigned char b : bytes) {
    c ^= b;
    for (int k = 0; k < 8; ++k) c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1u)));
  }
  return c ^ 0xffffffffu;
}

void put_be32(std::string& s, size_t at, uint32_t v) {
  for (int k = 0; k < 4; ++k) s[at + k] = static_cast<char>((v >> (24 - 8 * k)) & 0xff);
}

// A valid file with its IHDR's width and height replaced (CRC fixed).
std::string with_size(std::string png, uint32_t width, uint32_t height) {
  put_be32(png, 16, width);
  put_be32(png, 20, height);
  put_be32(png, 29, crc32(png.substr(12, 17)));
  return png;
}

TEST(LabelImage, EveryKindReadsAsPythonSeesIt) {
  const nlohmann::json cases = test::read_json(labels_dir() + "/cases.json");
  ASSERT_GE(cases.size(), 12u);
  const io::LabelColours colours = fixture_colours();
  for (const auto& c : cases) {
    const std::string file = labels_dir() + "/" + c["file"].get<std::string>();
    SCOPED_TRACE(file);
    io::PngReadCost cost;
    const io::LabelRead r = io::read_label(file, c["colours"].get<bool>() ? colours : io::LabelColours{}, &cost);
    const at::Tensor expected = io::read_npy(labels_dir() + "/" + c["expected"].get<std::string>()).to(at::kLong);
    ASSERT_EQ(r.labels.scalar_type(), at::kByte);
    ASSERT_EQ(r.labels.sizes(), expected.sizes());
    EXPECT_TRUE(r.labels.to(at::kLong).equal(expected)) << (r.labels.to(at::kLong) != expected).sum().item<int64_t>()
                                                         << " pixels differ";
    EXPECT_EQ(source_name(r.source), c["source"].get<std::string>());
    EXPECT_EQ(cost.file_bytes, fs::file_size(file));
    if (c["bit_depth"].get<int>() > 0) {
      const io::PngPixels p = io::read_png(file);
      EXPECT_EQ(p.bit_depth, c["bit_depth"].get<int>());
      EXPECT_LE(cost.decoded_bytes, 8 * (1032 * cost.file_bytes + 4096));
    }
  }
}

TEST(LabelImage, OneLineErrorsNameTheFile) {
  const std::string d = labels_dir();
  EXPECT_EQ(test::error_of([&] { io::read_label_image(d + "/gray16_over_255.png"); }),
            "label '" + d + "/gray16_over_255.png': the 16-bit sample 1000 is not a class index (0-255)");
  EXPECT_EQ(test::error_of([&] { io::read_label_image(d + "/rgb_gray_index.png", fixture_colours()); }),
            "label '" + d + "/rgb_gray_index.png': no pixel has a colour of the class colour table (an index label "
            "stored as RGB? then give no colour table)");
  EXPECT_EQ(test::error_of([&] { io::read_label_image(d + "/absent.png"); }), "label '" + d + "/absent.png' does not exist");

  const std::string t = test::temp_dir("label_errors");
  std::ofstream(t + "/text.png") << "not an image at all";
  EXPECT_EQ(test::error_of([&] { io::read_label_image(t + "/text.png"); }),
            "label '" + t + "/text.png' cannot be decoded as an image");
  const std::string png = test::read_text(d + "/gray8.png");
  std::ofstream(t + "/cut.png", std::ios::binary) << png.substr(0, png.size() / 2);
  const std::string cut = test::error_of([&] { io::read_label_image(t + "/cut.png"); });
  EXPECT_EQ(cut.rfind("label '" + t + "/cut.png': libpng: ", 0), 0u) << cut;
  EXPECT_EQ(cut.find('\n'), std::string::npos) << cut;
}

TEST(LabelImage, AHeaderClaimingMoreThanTheFileHoldsCostsNothing) {
  const std::string png = test::read_text(labels_dir() + "/gray8.png");
  io::PngReadCost cost;
  // 20000 x 1600 8-bit pixels: 32 MB, which no file of a few hundred bytes can inflate to.
  const std::string claim = with_size(png, 20000, 1600);
  EXPECT_EQ(test::error_of([&] { io::decode_png(claim, "x.png", &cost); }),
            "x.png: its header claims 20000x1600 pixels, more than its " + std::to_string(png.size()) + " bytes can hold");
  EXPECT_EQ(cost.file_bytes, png.size());
  EXPECT_EQ(cost.decoded_bytes, 0u);
  EXPECT_EQ(test::error_of([&] { io::decode_png(with_size(png, 40000, 2), "y.png", &cost); }),
            "y.png: 40000x2 pixels is larger than the limit (32768 per side, 33554432 in all)");
  // Within what the file could hold, but its data runs out: libpng says so, one line.
  const std::string more = with_size(png, 40, 30);
  const std::string e = test::error_of([&] { io::decode_png(more, "z.png", &cost); });
  EXPECT_EQ(e.rfind("z.png: libpng: ", 0), 0u) << e;
  EXPECT_LE(cost.decoded_bytes, 40u * 30u);
  EXPECT_EQ(test::error_of([&] { io::decode_png("", "e.png"); }), "e.png: not a PNG file");
  EXPECT_EQ(test::error_of([&] { io::decode_png(png.substr(0, 8), "s.png"); }).rfind("s.png: libpng: ", 0), 0u);
}

at::Tensor some_labels(int64_t h, int64_t w, int64_t classes) {
  at::Tensor l = at::randint(0, classes, {h, w}, at::TensorOptions().dtype(at::kLong)).to(at::kByte);
  l.index_put_({0, 0}, 255);
  return l;
}

TEST(LabelImage, WrittenLabelsReadBackHereAndInPython) {
  at::manual_seed(3);
  const std::string t = test::temp_dir("label_write");
  const at::Tensor labels = some_labels(11, 17, 37);
  const io::LabelColours& palette = tasks::camvid_seed_colours();
  io::write_index_png(t + "/index.png", labels);
  io::write_palette_png(t + "/palette.png", labels, palette);
  io::write_colour_png(t + "/colour.png", labels, palette);
  EXPECT_TRUE(io::read_label_image(t + "/index.png").equal(labels));
  const io::LabelRead p = io::read_label(t + "/palette.png");
  EXPECT_EQ(p.source, io::LabelSource::kPalette);
  EXPECT_TRUE(p.labels.equal(labels));
  // White, the colour past the table, is no class: the ignore label comes back.
  EXPECT_TRUE(io::read_label_image(t + "/colour.png", palette).equal(labels));
  EXPECT_EQ(io::read_png(t + "/palette.png").palette.size(), 256u);

  // Other readers see the same: PIL's indices of the palette PNG, its RGB of the colour PNG.
  const auto r = test::run_python(
      "import numpy as np\nfrom PIL import Image\n"
      "p = Image.open('" + t + "/palette.png')\nassert p.mode == 'P', p.mode\n"
      "i = np.array(Image.open('" + t + "/index.png'))\n"
      "assert (np.array(p) == i).all()\n"
      "pal = np.array(p.getpalette()[:3 * 256], dtype=np.uint8).reshape(-1, 3)\n"
      "assert (np.array(Image.open('" + t + "/colour.png').convert('RGB')) == pal[i]).all()\n"
      "print(i.shape, int(i[0, 0]))\n");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "(11, 17) 255\n");
  for (const auto& entry : fs::directory_iterator(t))
    EXPECT_EQ(entry.path().filename().string().find(".tmp"), std::string::npos) << entry.path();
}

TEST(LabelImage, WritersRefuseWhatIsNotALabel) {
  const std::string t = test::temp_dir("label_refuse");
  EXPECT_EQ(test::error_of([&] { io::write_index_png(t + "/a.png", at::zeros({2, 3, 4}, at::kByte)); }),
            "cannot write '" + t + "/a.png': labels must be an H x W tensor");
  EXPECT_EQ(test::error_of([&] { io::write_index_png(t + "/b.png", at::full({3, 3}, 256, at::kLong)); }),
            "cannot write '" + t + "/b.png': labels must be integers 0..255");
  EXPECT_EQ(test::error_of([&] { io::write_rgb_png(t + "/c.png", at::zeros({3, 3}, at::kByte)); }),
            "cannot write '" + t + "/c.png': an image must be an H x W x 3 uint8 tensor");
  EXPECT_TRUE(fs::is_empty(t));
}

TEST(Png, EncodingIsDeterministicAndRoundTrips) {
  at::manual_seed(5);
  const at::Tensor rgb = at::randint(0, 256, {9, 7, 3}, at::TensorOptions().dtype(at::kLong)).to(at::kByte).contiguous();
  const std::string a = io::encode_png(rgb.data_ptr<uint8_t>(), 7, 9, io::PngKind::kRgb);
  EXPECT_EQ(a, io::encode_png(rgb.data_ptr<uint8_t>(), 7, 9, io::PngKind::kRgb));
  const io::PngPixels p = io::decode_png(a, "a.png");
  EXPECT_EQ(p.width, 7);
  EXPECT_EQ(p.height, 9);
  EXPECT_EQ(p.channels, 3);
  EXPECT_TRUE(at::from_blob(const_cast<uint8_t*>(p.samples.data()), {9, 7, 3}, at::kByte).equal(rgb));
  const uint8_t index[2] = {0, 3};
  EXPECT_EQ(test::error_of([&] { io::encode_png(index, 2, 1, io::PngKind::kPalette, {{1, 2, 3}, {4, 5, 6}}); }),
            "a palette PNG's index 3 is past its 2 colours");
}

}  // namespace
}  // namespace reskit
