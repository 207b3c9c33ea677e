#include "reskit/io/opencv/track_plot.h"

#include <opencv2/core.hpp>

#include "reskit/core/error.h"
#include "reskit/io/opencv/plot_canvas.h"

namespace reskit::io {
namespace {

// The canvas and the plot's square inside it, in pixels.
constexpr int kWidth = 600, kHeight = 600, kLeft = 90, kTop = 50, kSide = 480;

// pysot's draw_utils.COLOR, as BGR.
const std::vector<cv::Scalar> kColours = {{0, 0, 255},    {0, 255, 0},   {255, 0, 255},  {0, 255, 255},
                                          {232, 162, 0},  {128, 128, 128}, {255, 0, 0},  {255, 255, 0},
                                          {21, 0, 136},   {39, 127, 255}, {0, 0, 0}};

}  // namespace

PlotAxes success_plot_axes(const std::string& dataset) {
  return {"Success plots of OPE on " + dataset, "Overlap threshold", "Success rate", 1.0, 0.1, true};
}

PlotAxes precision_plot_axes(const std::string& dataset) {
  return {"Precision plots of OPE on " + dataset, "Location error threshold", "Precision", 50.0, 5.0, false};
}

void write_curve_plot(const std::string& path, const PlotAxes& axes, const std::vector<PlotCurve>& curves) {
  plot::Axes frame;
  frame.frame = cv::Rect(kLeft, kTop, kSide, kSide);
  frame.x_max = axes.x_max;
  frame.x_tick = axes.x_tick;
  frame.title = axes.title;
  frame.x_label = axes.x_label;
  frame.y_label = axes.y_label;
  cv::Mat canvas(kHeight, kWidth, CV_8UC3, cv::Scalar(255, 255, 255));
  plot::draw_frame(canvas, frame);
  std::vector<plot::LegendEntry> legend;
  for (size_t i = 0; i < curves.size(); ++i) {
    const PlotCurve& c = curves[i];
    if (c.x.size() != c.y.size()) throw Error("plot '" + c.label + "': x and y differ in length");
    const cv::Scalar& colour = kColours[i % kColours.size()];
    plot::draw_curve(canvas, frame, c.x, c.y, colour);
    legend.push_back({c.label, colour});
  }
  plot::draw_legend(canvas, frame, legend, axes.legend_left ? plot::Corner::kLowerLeft : plot::Corner::kLowerRight);
  plot::write_png(path, canvas);
}

}  // namespace reskit::io
