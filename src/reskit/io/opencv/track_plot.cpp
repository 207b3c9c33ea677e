#include "reskit/io/opencv/track_plot.h"

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "reskit/core/error.h"
#include "reskit/io/atomic_file.h"

namespace reskit::io {
namespace {

// The canvas and the plot's square inside it, in pixels.
constexpr int kWidth = 600, kHeight = 600, kLeft = 90, kTop = 50, kSide = 480;
constexpr int kFont = cv::FONT_HERSHEY_SIMPLEX;
const cv::Scalar kBlack(0, 0, 0), kGrid(190, 190, 190), kWhite(255, 255, 255);

// pysot's draw_utils.COLOR, as BGR.
const std::vector<cv::Scalar> kColours = {{0, 0, 255},    {0, 255, 0},   {255, 0, 255},  {0, 255, 255},
                                          {232, 162, 0},  {128, 128, 128}, {255, 0, 0},  {255, 255, 0},
                                          {21, 0, 136},   {39, 127, 255}, {0, 0, 0}};

cv::Point to_pixel(const PlotAxes& axes, double x, double y) {
  y = std::clamp(y, 0.0, 1.0);
  return {kLeft + static_cast<int>(std::lround(x / axes.x_max * kSide)),
          kTop + static_cast<int>(std::lround((1 - y) * kSide))};
}

std::string tick_text(double v) {
  char text[32];
  std::snprintf(text, sizeof text, "%g", v);
  return text;
}

// Text centred on x with its baseline at y.
void put_centred(cv::Mat& canvas, const std::string& text, int x, int y, double scale, int thickness) {
  int baseline = 0;
  const cv::Size size = cv::getTextSize(text, kFont, scale, thickness, &baseline);
  cv::putText(canvas, text, {x - size.width / 2, y}, kFont, scale, kBlack, thickness, cv::LINE_AA);
}

void dotted_line(cv::Mat& canvas, cv::Point a, cv::Point b) {
  const int length = static_cast<int>(std::hypot(b.x - a.x, b.y - a.y));
  for (int t = 0; t < length; t += 6) {
    const double f0 = double(t) / length, f1 = std::min(1.0, double(t + 2) / length);
    cv::line(canvas, a + (b - a) * f0, a + (b - a) * f1, kGrid, 1);
  }
}

void draw_frame(cv::Mat& canvas, const PlotAxes& axes) {
  const int ticks_x = static_cast<int>(std::lround(axes.x_max / axes.x_tick));
  for (int i = 0; i <= ticks_x; ++i) {
    const double x = i * axes.x_tick;
    const cv::Point bottom = to_pixel(axes, x, 0);
    if (i > 0 && i < ticks_x) dotted_line(canvas, to_pixel(axes, x, 1), bottom);
    cv::line(canvas, bottom, bottom - cv::Point(0, 5), kBlack, 1);
    put_centred(canvas, tick_text(x), bottom.x, bottom.y + 20, 0.45, 1);
  }
  for (int i = 0; i <= 10; ++i) {
    const double y = i / 10.0;
    const cv::Point left = to_pixel(axes, 0, y);
    if (i > 0 && i < 10) dotted_line(canvas, left, to_pixel(axes, axes.x_max, y));
    cv::line(canvas, left, left + cv::Point(5, 0), kBlack, 1);
    int baseline = 0;
    const std::string text = tick_text(y);
    const cv::Size size = cv::getTextSize(text, kFont, 0.45, 1, &baseline);
    cv::putText(canvas, text, {left.x - 8 - size.width, left.y + size.height / 2}, kFont, 0.45, kBlack, 1, cv::LINE_AA);
  }
  cv::rectangle(canvas, {kLeft, kTop}, {kLeft + kSide, kTop + kSide}, kBlack, 1);
  put_centred(canvas, axes.title, kLeft + kSide / 2, kTop - 18, 0.6, 2);
  put_centred(canvas, axes.x_label, kLeft + kSide / 2, kTop + kSide + 48, 0.55, 1);
  // putText draws only horizontally: the y label is drawn apart and turned.
  int baseline = 0;
  const cv::Size size = cv::getTextSize(axes.y_label, kFont, 0.55, 1, &baseline);
  cv::Mat label(size.height + baseline + 4, size.width + 4, CV_8UC3, kWhite), turned;
  cv::putText(label, axes.y_label, {2, size.height + 2}, kFont, 0.55, kBlack, 1, cv::LINE_AA);
  cv::rotate(label, turned, cv::ROTATE_90_COUNTERCLOCKWISE);
  const int x = kLeft - 60 - turned.cols / 2, y = kTop + kSide / 2 - turned.rows / 2;
  turned.copyTo(canvas(cv::Rect(x, y, turned.cols, turned.rows)));
}

void draw_legend(cv::Mat& canvas, const PlotAxes& axes, const std::vector<PlotCurve>& curves) {
  constexpr double kScale = 0.45;
  constexpr int kRow = 20, kSample = 28;
  int text_width = 0;
  for (const PlotCurve& c : curves) {
    int baseline = 0;
    text_width = std::max(text_width, cv::getTextSize(c.label, kFont, kScale, 1, &baseline).width);
  }
  const int width = kSample + 18 + text_width, height = kRow * static_cast<int>(curves.size()) + 8;
  const int x = axes.legend_left ? kLeft + 10 : kLeft + kSide - 10 - width, y = kTop + kSide - 10 - height;
  cv::rectangle(canvas, {x, y}, {x + width, y + height}, kWhite, cv::FILLED);
  cv::rectangle(canvas, {x, y}, {x + width, y + height}, kGrid, 1);
  for (size_t i = 0; i < curves.size(); ++i) {
    const int row = y + 4 + kRow * static_cast<int>(i) + kRow / 2;
    cv::line(canvas, {x + 6, row}, {x + 6 + kSample, row}, kColours[i % kColours.size()], 2, cv::LINE_AA);
    cv::putText(canvas, curves[i].label, {x + kSample + 12, row + 5}, kFont, kScale, kBlack, 1, cv::LINE_AA);
  }
}

}  // namespace

PlotAxes success_plot_axes(const std::string& dataset) {
  return {"Success plots of OPE on " + dataset, "Overlap threshold", "Success rate", 1.0, 0.1, true};
}

PlotAxes precision_plot_axes(const std::string& dataset) {
  return {"Precision plots of OPE on " + dataset, "Location error threshold", "Precision", 50.0, 5.0, false};
}

void write_curve_plot(const std::string& path, const PlotAxes& axes, const std::vector<PlotCurve>& curves) {
  cv::Mat canvas(kHeight, kWidth, CV_8UC3, kWhite);
  draw_frame(canvas, axes);
  for (size_t i = 0; i < curves.size(); ++i) {
    const PlotCurve& c = curves[i];
    if (c.x.size() != c.y.size()) throw Error("plot '" + c.label + "': x and y differ in length");
    std::vector<cv::Point> points;
    for (size_t k = 0; k < c.x.size(); ++k) points.push_back(to_pixel(axes, c.x[k], c.y[k]));
    cv::polylines(canvas, points, false, kColours[i % kColours.size()], 2, cv::LINE_AA);
  }
  if (!curves.empty()) draw_legend(canvas, axes, curves);
  std::vector<uchar> png;
  if (!cv::imencode(".png", canvas, png)) throw Error("cannot encode the plot '" + path + "'");
  AtomicFile file(path);
  file.stream().write(reinterpret_cast<const char*>(png.data()), static_cast<std::streamsize>(png.size()));
  file.commit();
}

}  // namespace reskit::io
