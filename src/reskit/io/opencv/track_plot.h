#pragma once
// The OTB papers' success and precision plots (pysot's
// toolkit/visualization/draw_success_precision.py), drawn with OpenCV:
// curves on a grid, y from 0 to 1, a titled, labelled frame and a legend.
#include <string>
#include <vector>

namespace reskit::io {

struct PlotCurve {
  std::string label;         // "siamban_r50_l234_otb [0.696]"
  std::vector<double> x, y;  // as many; y in [0, 1]
};

struct PlotAxes {
  std::string title, x_label, y_label;
  double x_max = 1, x_tick = 0.1;  // x runs from 0
  bool legend_left = true;          // the legend in the lower left corner, else the lower right
};
// "Success plots of OPE on <dataset>": overlap threshold 0..1 against success rate.
PlotAxes success_plot_axes(const std::string& dataset);
// "Precision plots of OPE on <dataset>": location error threshold 0..50 px against precision.
PlotAxes precision_plot_axes(const std::string& dataset);

// A PNG at `path`, written atomically; curves take pysot's colours in order.
void write_curve_plot(const std::string& path, const PlotAxes& axes, const std::vector<PlotCurve>& curves);

}  // namespace reskit::io
