#pragma once
// What an OpenCV-drawn line plot is made of, for io/opencv's plots: a framed
// panel with a dotted grid, ticks, a title and axis labels (the y label
// turned), curves with gaps where a value is missing (NaN), a legend, and the
// PNG written atomically. Included only by io/opencv's sources.
#include <opencv2/core.hpp>

#include <string>
#include <vector>

namespace reskit::io::plot {

struct Axes {
  cv::Rect frame;  // the panel's frame, in canvas pixels
  double x_min = 0, x_max = 1, x_tick = 0.1;
  double y_min = 0, y_max = 1, y_tick = 0.1;
  std::string title, x_label, y_label;
};

// A tick step of 1, 2 or 5 x 10^k that cuts `range` into at most `max_ticks` steps.
double nice_tick(double range, int max_ticks);
// `value` rounded up to a multiple of `tick` (at least one tick).
double round_up(double value, double tick);

// Canvas pixel of (x, y); y is clamped into the frame.
cv::Point to_pixel(const Axes& axes, double x, double y);

void draw_frame(cv::Mat& canvas, const Axes& axes);
// Segments between consecutive finite points; a finite point between two
// missing ones is drawn as a dot.
void draw_curve(cv::Mat& canvas, const Axes& axes, const std::vector<double>& x, const std::vector<double>& y,
                const cv::Scalar& colour);

struct LegendEntry {
  std::string label;
  cv::Scalar colour;
};
// kClearest: of the frame's four corners, the one whose legend box would
// cover the fewest coloured pixels drawn so far (so draw the curves first).
enum class Corner { kLowerLeft, kLowerRight, kUpperLeft, kUpperRight, kClearest };
void draw_legend(cv::Mat& canvas, const Axes& axes, const std::vector<LegendEntry>& entries, Corner corner);

// The canvas as a PNG at `path`, written atomically.
void write_png(const std::string& path, const cv::Mat& canvas);

}  // namespace reskit::io::plot
