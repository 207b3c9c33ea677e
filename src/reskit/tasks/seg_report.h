#pragma once
// What segmentation training and evaluation report: one row per epoch in
// RUN_DIR/metrics.csv (rewritten whole and atomically each epoch, and read
// back on --resume so the run continues it), and the per-class IoU as a text
// table and as JSON. The CSV and JSON hold fractions (0..1); the text table
// shows percentages with two decimals, as mmseg's per-class table does.
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "reskit/tasks/seg_metrics.h"

namespace reskit::tasks {

struct EpochMetrics {
  static constexpr double kMissing = std::numeric_limits<double>::quiet_NaN();
  int64_t epoch = 0;  // 1-based
  double train_loss = kMissing, train_pixel_acc = kMissing, train_seed_acc = kMissing;
  double val_pixel_acc = kMissing, val_seed_acc = kMissing, val_miou = kMissing;
  double lr = kMissing, seconds = kMissing, images_per_s = kMissing;
  std::vector<double> class_iou;  // validation IoU per class (NaN: the class was nowhere)
};

// The fixed columns, in order: epoch, train_loss, train_pixel_acc,
// train_seed_acc, val_pixel_acc, val_seed_acc, val_miou, lr, seconds, images_per_s.
const std::vector<std::string>& metrics_fixed_columns();
// "iou_<name>" per class (a name's characters other than letters, digits,
// '-' and '_' become '_'; a repeated name gets "_<index>"), "iou_<index>"
// past the names' end.
std::vector<std::string> iou_columns(int64_t num_classes, const std::vector<std::string>& class_names);

// The whole file: the header, then a row per entry (numbers in their
// shortest exact form, NaN as "nan"), written atomically. Every row must
// have as many class IoUs as there are `iou_columns`.
void write_metrics_csv(const std::string& path, const std::vector<EpochMetrics>& rows,
                       const std::vector<std::string>& iou_columns);

struct MetricsTable {
  std::vector<std::string> iou_columns;
  std::vector<EpochMetrics> rows;
};
// Reads a metrics.csv as write_metrics_csv writes it: epoch, train_loss,
// val_pixel_acc and val_miou are required, other fixed columns may be
// missing (NaN), unknown ones are an error; epochs must rise. A file over
// kMaxMetricsBytes is refused before it is read; a bad line is a one-line
// error naming the file and the line.
constexpr int64_t kMaxMetricsBytes = 16 << 20;
MetricsTable read_metrics_csv(const std::string& path);
// What parsing cost: never more fields than the text has bytes plus lines
// (an empty field is a comma), whatever the text is; the fuzz target checks it.
struct MetricsReadCost {
  uint64_t text_bytes = 0, lines = 0, fields = 0;
};
// The same over text in memory; `name` is used in error messages.
MetricsTable parse_metrics_csv(const std::string& text, const std::string& name, MetricsReadCost* cost = nullptr);

// The name shown for class `index`: names[index], or the index.
std::string class_name(const std::vector<std::string>& names, int64_t index);
// Per class: index, name, IoU and accuracy in percent ("nan" where NaN).
std::string class_iou_table(const ConfusionMatrix& confusion, const std::vector<std::string>& names);
// {"pixel_accuracy", "seed_accuracy", "mean_iou", "counted_pixels", "all_pixels",
//  "classes": [{"index", "name", "iou", "accuracy", "pixels"}]}; NaN is null.
std::string seg_metrics_json(const ConfusionMatrix& confusion, const std::vector<std::string>& names);

}  // namespace reskit::tasks
