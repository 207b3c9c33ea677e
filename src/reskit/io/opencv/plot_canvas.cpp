#include "reskit/io/opencv/plot_canvas.h"

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "reskit/core/error.h"
#include "reskit/io/atomic_file.h"

namespace reskit::io::plot {
namespace {

constexpr int kFont = cv::FONT_HERSHEY_SIMPLEX;
const cv::Scalar kBlack(0, 0, 0), kGrid(190, 190, 190), kWhite(255, 255, 255);

std::string tick_text(double v) {
  char text[32];
  std::snprintf(text, sizeof text, "%g", std::abs(v) < 1e-12 ? 0.0 : v);
  return text;
}

int tick_count(double low, double high, double tick) {
  if (!(tick > 0) || !(high > low)) return 1;
  return std::max(1, static_cast<int>(std::lround((high - low) / tick)));
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

// putText draws only horizontally: the label is drawn apart and turned.
void put_turned(cv::Mat& canvas, const std::string& text, int centre_x, int centre_y) {
  if (text.empty()) return;
  int baseline = 0;
  const cv::Size size = cv::getTextSize(text, kFont, 0.55, 1, &baseline);
  cv::Mat label(size.height + baseline + 4, size.width + 4, CV_8UC3, kWhite), turned;
  cv::putText(label, text, {2, size.height + 2}, kFont, 0.55, kBlack, 1, cv::LINE_AA);
  cv::rotate(label, turned, cv::ROTATE_90_COUNTERCLOCKWISE);
  const cv::Rect where(centre_x - turned.cols / 2, centre_y - turned.rows / 2, turned.cols, turned.rows);
  const cv::Rect inside = where & cv::Rect(0, 0, canvas.cols, canvas.rows);
  if (inside.area() > 0) turned(inside - where.tl()).copyTo(canvas(inside));
}

}  // namespace

double nice_tick(double range, int max_ticks) {
  if (!(range > 0) || !std::isfinite(range)) return 1;
  const double raw = range / std::max(1, max_ticks);
  const double power = std::pow(10.0, std::floor(std::log10(raw)));
  for (double step : {1.0, 2.0, 5.0, 10.0})
    if (step * power >= raw * (1 - 1e-9)) return step * power;
  return 10 * power;
}

double round_up(double value, double tick) {
  if (!(tick > 0) || !std::isfinite(value)) return tick;
  return std::max(tick, std::ceil(value / tick - 1e-9) * tick);
}

cv::Point to_pixel(const Axes& axes, double x, double y) {
  const double fx = (x - axes.x_min) / (axes.x_max - axes.x_min);
  const double fy = std::clamp((y - axes.y_min) / (axes.y_max - axes.y_min), 0.0, 1.0);
  return {axes.frame.x + static_cast<int>(std::lround(fx * axes.frame.width)),
          axes.frame.y + static_cast<int>(std::lround((1 - fy) * axes.frame.height))};
}

void draw_frame(cv::Mat& canvas, const Axes& axes) {
  const int ticks_x = tick_count(axes.x_min, axes.x_max, axes.x_tick);
  for (int i = 0; i <= ticks_x; ++i) {
    const double x = axes.x_min + i * axes.x_tick;
    const cv::Point bottom = to_pixel(axes, x, axes.y_min);
    if (i > 0 && i < ticks_x) dotted_line(canvas, to_pixel(axes, x, axes.y_max), bottom);
    cv::line(canvas, bottom, bottom - cv::Point(0, 5), kBlack, 1);
    put_centred(canvas, tick_text(x), bottom.x, bottom.y + 20, 0.45, 1);
  }
  const int ticks_y = tick_count(axes.y_min, axes.y_max, axes.y_tick);
  for (int i = 0; i <= ticks_y; ++i) {
    const double y = axes.y_min + i * axes.y_tick;
    const cv::Point left = to_pixel(axes, axes.x_min, y);
    if (i > 0 && i < ticks_y) dotted_line(canvas, left, to_pixel(axes, axes.x_max, y));
    cv::line(canvas, left, left + cv::Point(5, 0), kBlack, 1);
    int baseline = 0;
    const std::string text = tick_text(y);
    const cv::Size size = cv::getTextSize(text, kFont, 0.45, 1, &baseline);
    cv::putText(canvas, text, {left.x - 8 - size.width, left.y + size.height / 2}, kFont, 0.45, kBlack, 1, cv::LINE_AA);
  }
  cv::rectangle(canvas, axes.frame, kBlack, 1);
  const int centre_x = axes.frame.x + axes.frame.width / 2;
  put_centred(canvas, axes.title, centre_x, axes.frame.y - 18, 0.6, 2);
  put_centred(canvas, axes.x_label, centre_x, axes.frame.y + axes.frame.height + 48, 0.55, 1);
  put_turned(canvas, axes.y_label, axes.frame.x - 60, axes.frame.y + axes.frame.height / 2);
}

void draw_curve(cv::Mat& canvas, const Axes& axes, const std::vector<double>& x, const std::vector<double>& y,
                const cv::Scalar& colour) {
  if (x.size() != y.size()) throw Error("plot: a curve's x and y differ in length");
  const auto ok = [&](size_t k) { return k < x.size() && std::isfinite(x[k]) && std::isfinite(y[k]); };
  for (size_t k = 0; k < x.size(); ++k) {
    if (!ok(k)) continue;
    const cv::Point p = to_pixel(axes, x[k], y[k]);
    if (ok(k + 1)) cv::line(canvas, p, to_pixel(axes, x[k + 1], y[k + 1]), colour, 2, cv::LINE_AA);
    else if (k == 0 || !ok(k - 1)) cv::circle(canvas, p, 3, colour, cv::FILLED, cv::LINE_AA);
  }
}

void draw_legend(cv::Mat& canvas, const Axes& axes, const std::vector<LegendEntry>& entries, Corner corner) {
  if (entries.empty()) return;
  constexpr double kScale = 0.45;
  constexpr int kRow = 20, kSample = 28;
  int text_width = 0;
  for (const LegendEntry& e : entries) {
    int baseline = 0;
    text_width = std::max(text_width, cv::getTextSize(e.label, kFont, kScale, 1, &baseline).width);
  }
  const int width = kSample + 18 + text_width, height = kRow * static_cast<int>(entries.size()) + 8;
  const cv::Rect& f = axes.frame;
  const auto box = [&](Corner c) {
    const bool left = c == Corner::kLowerLeft || c == Corner::kUpperLeft;
    const bool upper = c == Corner::kUpperLeft || c == Corner::kUpperRight;
    return cv::Rect(left ? f.x + 10 : f.x + f.width - 10 - width, upper ? f.y + 10 : f.y + f.height - 10 - height,
                    width, height) &
           cv::Rect(0, 0, canvas.cols, canvas.rows);
  };
  if (corner == Corner::kClearest) {
    int64_t fewest = -1;
    for (Corner c : {Corner::kLowerRight, Corner::kUpperRight, Corner::kUpperLeft, Corner::kLowerLeft}) {
      cv::Mat channels[3], spread;
      cv::split(canvas(box(c)), channels);
      spread = cv::max(cv::max(channels[0], channels[1]), channels[2]) - cv::min(cv::min(channels[0], channels[1]), channels[2]);
      const int64_t coloured = cv::countNonZero(spread > 40);  // grid, text and frame are grey
      if (fewest < 0 || coloured < fewest) fewest = coloured, corner = c;
    }
  }
  const int x = box(corner).x, y = box(corner).y;
  cv::rectangle(canvas, {x, y}, {x + width, y + height}, kWhite, cv::FILLED);
  cv::rectangle(canvas, {x, y}, {x + width, y + height}, kGrid, 1);
  for (size_t i = 0; i < entries.size(); ++i) {
    const int row = y + 4 + kRow * static_cast<int>(i) + kRow / 2;
    cv::line(canvas, {x + 6, row}, {x + 6 + kSample, row}, entries[i].colour, 2, cv::LINE_AA);
    cv::putText(canvas, entries[i].label, {x + kSample + 12, row + 5}, kFont, kScale, kBlack, 1, cv::LINE_AA);
  }
}

void write_png(const std::string& path, const cv::Mat& canvas) {
  std::vector<uchar> png;
  if (!cv::imencode(".png", canvas, png)) throw Error("cannot encode the plot '" + path + "'");
  AtomicFile file(path);
  file.stream().write(reinterpret_cast<const char*>(png.data()), static_cast<std::streamsize>(png.size()));
  file.commit();
}

}  // namespace reskit::io::plot
