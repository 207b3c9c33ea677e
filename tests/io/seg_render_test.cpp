// Segmentation pictures: the palette lookup, the alpha-0.5 overlay against
// its arithmetic, the three PNGs read back, and the training curves' PNG.
#include <gtest/gtest.h>

#include <filesystem>

#include "reskit/core/error.h"
#include "test_util.h"
#ifdef RESKIT_HAVE_OPENCV
#include "reskit/io/opencv/seg_render.h"
#include "reskit/io/opencv/track_frames.h"
#endif

namespace reskit {
namespace {

#ifdef RESKIT_HAVE_OPENCV
namespace fs = std::filesystem;

const io::Palette kPalette = {{10, 20, 30}, {200, 100, 0}, {0, 255, 64}};

TEST(SegRender, ColourisesThroughThePaletteAndUnknownIsBlack) {
  const at::Tensor mask = at::tensor({0, 1, 2, 3, 255, -1}, at::kLong).view({2, 3});
  const at::Tensor rgb = io::colourise_mask(mask, kPalette);
  ASSERT_EQ(rgb.sizes(), at::IntArrayRef({2, 3, 3}));
  for (int64_t i = 0; i < 6; ++i) {
    const int64_t c = mask.view(-1)[i].item<int64_t>();
    for (int k = 0; k < 3; ++k) {
      const int expected = c >= 0 && c < 3 ? kPalette[c][k] : 0;
      EXPECT_EQ(rgb.view({-1, 3})[i][k].item<int>(), expected) << "pixel " << i;
    }
  }
}

TEST(SegRender, OverlayIsHalfImageHalfColour) {
  at::manual_seed(1);
  const at::Tensor image = at::randint(0, 256, {7, 9, 3}, at::kByte);
  const at::Tensor colours = at::randint(0, 256, {7, 9, 3}, at::kByte);
  const at::Tensor out = io::overlay_colours(image, colours, 0.5);
  // BGR image, RGB colours: the colours' channels reversed, then averaged (rounded half to even, as cvRound).
  const at::Tensor expected = at::round(image.to(at::kFloat) * 0.5 + colours.flip(2).to(at::kFloat) * 0.5);
  EXPECT_EQ((out.to(at::kFloat) - expected).abs().max().item<float>(), 0.0f);
  EXPECT_THROW(io::overlay_colours(image, colours.narrow(0, 0, 6), 0.5), Error);
}

TEST(SegRender, WritesMaskColourAndOverlayPngs) {
  const std::string dir = test::temp_dir("seg_render_pngs");
  at::manual_seed(2);
  const at::Tensor image = at::randint(0, 256, {11, 13, 3}, at::kByte);
  const at::Tensor mask = at::randint(0, 4, {11, 13}, at::kLong);
  const io::SegmentationPaths paths = {dir + "/m.png", dir + "/c.png", dir + "/o.png"};
  io::write_segmentation_pngs(image, mask, kPalette, paths);
  // read_bgr_image gives 3 equal channels for the grey mask.
  EXPECT_TRUE(at::equal(io::read_bgr_image(paths.mask).select(2, 0).to(at::kLong), mask));
  const at::Tensor colour = io::colourise_mask(mask, kPalette);
  EXPECT_TRUE(at::equal(io::read_bgr_image(paths.colour), colour.flip(2)));
  EXPECT_TRUE(at::equal(io::read_bgr_image(paths.overlay), io::overlay_colours(image, colour)));

  // A class that an 8-bit PNG cannot hold: an error, and no file written.
  const std::string dir2 = test::temp_dir("seg_render_big");
  EXPECT_THROW(io::write_segmentation_pngs(image, at::full({11, 13}, 300, at::kLong), kPalette,
                                           {dir2 + "/m.png", dir2 + "/c.png", dir2 + "/o.png"}),
               Error);
  EXPECT_THROW(io::write_segmentation_pngs(image, mask.narrow(0, 0, 5), kPalette,
                                           {dir2 + "/m.png", dir2 + "/c.png", dir2 + "/o.png"}),
               Error);
  EXPECT_TRUE(fs::is_empty(dir2));
  fs::remove_all(dir);
  fs::remove_all(dir2);
}

// Counts pixels of one BGR colour.
int64_t pixels_of(const at::Tensor& bgr, int b, int g, int r) {
  return ((bgr.select(2, 0) == b) & (bgr.select(2, 1) == g) & (bgr.select(2, 2) == r)).sum().item<int64_t>();
}

TEST(SegRender, TrainingCurvesDrawEverySeries) {
  const std::string dir = test::temp_dir("seg_render_curves");
  io::TrainingCurves c;
  c.epoch = {1, 2, 3, 4};
  c.train_loss = {2.5, 1.5, 1.0, 0.8};
  c.train_pixel_acc = {0.3, 0.5, 0.6, 0.7};
  c.val_pixel_acc = {0.2, std::nan(""), 0.55, 0.6};  // an epoch without validation: a gap
  c.val_miou = {0.05, std::nan(""), 0.2, 0.3};
  io::write_training_curves(dir + "/curves.png", c);
  const at::Tensor png = io::read_bgr_image(dir + "/curves.png");
  EXPECT_GT(png.size(1), png.size(0));  // two panels side by side
  // matplotlib's tab10 blue, orange, green, red (BGR): each curve and its legend sample.
  EXPECT_GT(pixels_of(png, 180, 119, 31), 100);
  EXPECT_GT(pixels_of(png, 14, 127, 255), 100);
  EXPECT_GT(pixels_of(png, 44, 160, 44), 50);
  EXPECT_GT(pixels_of(png, 40, 39, 214), 50);

  c.val_miou.pop_back();
  EXPECT_THROW(io::write_training_curves(dir + "/bad.png", c), Error);
  EXPECT_FALSE(fs::exists(dir + "/bad.png"));
  // No epoch yet: an empty frame, not an error.
  io::write_training_curves(dir + "/empty.png", io::TrainingCurves{});
  EXPECT_TRUE(fs::is_regular_file(dir + "/empty.png"));
  fs::remove_all(dir);
}
#endif

}  // namespace
}  // namespace reskit
