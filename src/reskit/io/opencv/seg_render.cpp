#include "reskit/io/opencv/seg_render.h"

#include <ATen/ATen.h>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cmath>
#include <memory>

#include "reskit/core/error.h"
#include "reskit/io/atomic_file.h"
#include "reskit/io/opencv/plot_canvas.h"

namespace reskit::io {
namespace {

std::string size_text(const at::Tensor& t) {
  std::string s;
  for (int64_t d : t.sizes()) s += (s.empty() ? "" : "x") + std::to_string(d);
  return s;
}

void check_picture(const at::Tensor& t, const char* what) {
  if (!t.defined() || t.dim() != 3 || t.size(2) != 3 || t.scalar_type() != at::kByte)
    throw Error(std::string(what) + " must be H x W x 3 uint8, got " + (t.defined() ? size_text(t) : "none"));
}

void check_mask(const at::Tensor& mask) {
  if (!mask.defined() || mask.dim() != 2 || !at::isIntegralType(mask.scalar_type(), false))
    throw Error("a segmentation mask must be H x W class indices, got " + (mask.defined() ? size_text(mask) : "none"));
}

// A view of a contiguous CPU H x W x C uint8 tensor; the tensor must outlive it.
cv::Mat as_mat(const at::Tensor& t) {
  return cv::Mat(static_cast<int>(t.size(0)), static_cast<int>(t.size(1)), CV_8UC(static_cast<int>(t.size(2))),
                 t.data_ptr());
}

at::Tensor cpu_bytes(const at::Tensor& t) { return t.to(at::kCPU).contiguous(); }

std::vector<uchar> encode_png(const cv::Mat& picture, const std::string& path) {
  std::vector<uchar> png;
  if (!cv::imencode(".png", picture, png)) throw Error("cannot encode '" + path + "' as PNG");
  return png;
}

// matplotlib's tab10 blue, orange, green, red, as BGR.
const cv::Scalar kBlue(180, 119, 31), kOrange(14, 127, 255), kGreen(44, 160, 44), kRed(40, 39, 214);

double finite_max(const std::vector<double>& v) {
  double m = 0;
  for (double x : v)
    if (std::isfinite(x)) m = std::max(m, x);
  return m;
}

}  // namespace

at::Tensor colourise_mask(const at::Tensor& mask, const Palette& palette) {
  check_mask(mask);
  const int64_t n = static_cast<int64_t>(palette.size());
  // The palette's colours and, last, black for every index it has none for.
  at::Tensor table = at::zeros({n + 1, 3}, at::kByte);
  uint8_t* t = table.data_ptr<uint8_t>();
  for (int64_t i = 0; i < n; ++i) std::copy(palette[i].begin(), palette[i].end(), t + 3 * i);
  const at::Tensor m = mask.to(at::kCPU, at::kLong);
  const at::Tensor index = at::where((m >= 0) & (m < n), m, at::full_like(m, n));
  return table.index_select(0, index.reshape(-1)).view({mask.size(0), mask.size(1), 3});
}

at::Tensor overlay_colours(const at::Tensor& bgr_image, const at::Tensor& rgb_colours, double alpha) {
  check_picture(bgr_image, "an image");
  check_picture(rgb_colours, "a colour mask");
  if (bgr_image.sizes() != rgb_colours.sizes())
    throw Error("overlay: the image is " + size_text(bgr_image) + " but the colour mask " + size_text(rgb_colours));
  if (!(alpha >= 0 && alpha <= 1)) throw Error("overlay: alpha must be within [0, 1]");
  const at::Tensor image = cpu_bytes(bgr_image);
  const at::Tensor colours = cpu_bytes(rgb_colours.flip(2));  // RGB to BGR
  at::Tensor out = at::empty_like(image);
  cv::Mat out_mat = as_mat(out);
  cv::addWeighted(as_mat(image), 1 - alpha, as_mat(colours), alpha, 0, out_mat);
  return out;
}

void write_segmentation_pngs(const at::Tensor& bgr_image, const at::Tensor& mask, const Palette& palette,
                             const SegmentationPaths& paths) {
  check_picture(bgr_image, "an image");
  check_mask(mask);
  if (mask.size(0) != bgr_image.size(0) || mask.size(1) != bgr_image.size(1))
    throw Error("segmentation: the mask is " + size_text(mask) + " but the image " + size_text(bgr_image));
  const at::Tensor m = mask.to(at::kCPU, at::kLong);
  if (m.numel() > 0 && (m.min().item<int64_t>() < 0 || m.max().item<int64_t>() > 255))
    throw Error("segmentation: class indices outside 0..255 do not fit an 8-bit mask PNG ('" + paths.mask + "')");
  const at::Tensor grey = m.to(at::kByte).contiguous().unsqueeze(2);
  const at::Tensor colour = colourise_mask(m, palette);
  const at::Tensor colour_bgr = cpu_bytes(colour.flip(2));
  const at::Tensor overlay = overlay_colours(bgr_image, colour, 0.5);

  const std::vector<std::pair<std::string, std::vector<uchar>>> files = {
      {paths.mask, encode_png(as_mat(grey), paths.mask)},
      {paths.colour, encode_png(as_mat(colour_bgr), paths.colour)},
      {paths.overlay, encode_png(as_mat(overlay), paths.overlay)}};
  std::vector<std::unique_ptr<AtomicFile>> out;
  for (const auto& [path, png] : files) {
    out.push_back(std::make_unique<AtomicFile>(path));
    out.back()->stream().write(reinterpret_cast<const char*>(png.data()), static_cast<std::streamsize>(png.size()));
  }
  for (auto& f : out) f->commit();
}

void write_training_curves(const std::string& path, const TrainingCurves& c) {
  const size_t n = c.epoch.size();
  for (const auto* series : {&c.train_loss, &c.train_pixel_acc, &c.val_pixel_acc, &c.val_miou})
    if (series->size() != n) throw Error("training curves: every series needs one value per epoch");

  constexpr int kPanel = 420, kHeight = 380, kTop = 50, kLeft = 90, kGap = 130;
  cv::Mat canvas(kTop + kHeight + 70, kLeft + 2 * kPanel + kGap + 30, CV_8UC3, cv::Scalar(255, 255, 255));
  plot::Axes loss, acc;
  const double last_epoch = n == 0 ? 1 : std::max(1.0, finite_max(c.epoch));
  const double x_tick = std::max(1.0, plot::nice_tick(last_epoch, 10));
  for (plot::Axes* a : {&loss, &acc}) {
    a->x_min = 0;
    a->x_tick = x_tick;
    a->x_max = plot::round_up(last_epoch, x_tick);
    a->x_label = "epoch";
  }
  loss.frame = cv::Rect(kLeft, kTop, kPanel, kHeight);
  loss.title = "Training loss";
  loss.y_label = "loss";
  const double max_loss = finite_max(c.train_loss);
  loss.y_tick = plot::nice_tick(max_loss > 0 ? max_loss : 1, 8);
  loss.y_max = plot::round_up(max_loss > 0 ? max_loss : 1, loss.y_tick);
  acc.frame = cv::Rect(kLeft + kPanel + kGap, kTop, kPanel, kHeight);
  acc.title = "Accuracy and mIoU";
  acc.y_label = "fraction";

  plot::draw_frame(canvas, loss);
  plot::draw_curve(canvas, loss, c.epoch, c.train_loss, kBlue);
  plot::draw_legend(canvas, loss, {{"train loss", kBlue}}, plot::Corner::kClearest);
  plot::draw_frame(canvas, acc);
  plot::draw_curve(canvas, acc, c.epoch, c.train_pixel_acc, kOrange);
  plot::draw_curve(canvas, acc, c.epoch, c.val_pixel_acc, kGreen);
  plot::draw_curve(canvas, acc, c.epoch, c.val_miou, kRed);
  plot::draw_legend(canvas, acc, {{"train pixel acc", kOrange}, {"val pixel acc", kGreen}, {"val mIoU", kRed}},
                    plot::Corner::kClearest);
  plot::write_png(path, canvas);
}

}  // namespace reskit::io
