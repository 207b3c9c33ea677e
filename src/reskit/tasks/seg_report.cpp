#include "reskit/tasks/seg_report.h"

#include <nlohmann/json.hpp>

#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "reskit/core/error.h"
#include "reskit/io/atomic_file.h"

namespace reskit::tasks {
namespace {

constexpr const char* kIouPrefix = "iou_";

// The fixed columns and where each lives in a row.
struct Column {
  const char* name;
  double EpochMetrics::*field;  // nullptr: epoch
  bool required;
};
const std::vector<Column>& columns() {
  static const std::vector<Column> c = {{"epoch", nullptr, true},
                                        {"train_loss", &EpochMetrics::train_loss, true},
                                        {"train_pixel_acc", &EpochMetrics::train_pixel_acc, false},
                                        {"train_seed_acc", &EpochMetrics::train_seed_acc, false},
                                        {"val_pixel_acc", &EpochMetrics::val_pixel_acc, true},
                                        {"val_seed_acc", &EpochMetrics::val_seed_acc, false},
                                        {"val_miou", &EpochMetrics::val_miou, true},
                                        {"lr", &EpochMetrics::lr, false},
                                        {"seconds", &EpochMetrics::seconds, false},
                                        {"images_per_s", &EpochMetrics::images_per_s, false}};
  return c;
}

// The shortest text that reads back as the same double (Python's repr).
std::string number(double v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  char text[64];
  const auto r = std::to_chars(text, text + sizeof text, v);
  return std::string(text, r.ptr);
}

bool parse_number(const std::string& text, double& v) {
  if (text.empty()) {
    v = EpochMetrics::kMissing;
    return true;
  }
  const char* end = text.data() + text.size();
  const auto r = std::from_chars(text.data(), end, v);
  return r.ec == std::errc() && r.ptr == end;
}

std::vector<std::string> split_line(const std::string& line) {
  std::vector<std::string> fields;
  std::string field;
  std::istringstream in(line);
  while (std::getline(in, field, ',')) fields.push_back(field);
  if (!line.empty() && line.back() == ',') fields.emplace_back();
  return fields;
}

std::string percent_text(double v) {
  if (std::isnan(v)) return "nan";
  char text[32];
  std::snprintf(text, sizeof text, "%.2f", v * 100);
  return text;
}

// A field as an error message shows it: short, on one line.
std::string shown(const std::string& field) {
  std::string s = field.substr(0, 40);
  for (char& ch : s)
    if (static_cast<unsigned char>(ch) < 0x20) ch = '?';
  return field.size() > 40 ? s + "..." : s;
}

nlohmann::json value_or_null(double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr); }

}  // namespace

const std::vector<std::string>& metrics_fixed_columns() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> n;
    for (const Column& c : columns()) n.push_back(c.name);
    return n;
  }();
  return names;
}

std::vector<std::string> iou_columns(int64_t num_classes, const std::vector<std::string>& class_names) {
  std::vector<std::string> out;
  std::set<std::string> used;
  for (int64_t i = 0; i < num_classes; ++i) {
    std::string name = i < static_cast<int64_t>(class_names.size()) ? class_names[i] : std::to_string(i);
    for (char& ch : name)
      if (!std::isalnum(static_cast<unsigned char>(ch)) && ch != '-' && ch != '_') ch = '_';
    if (name.empty()) name = std::to_string(i);
    std::string column = kIouPrefix + name;
    if (!used.insert(column).second) used.insert(column += "_" + std::to_string(i));
    out.push_back(column);
  }
  return out;
}

void write_metrics_csv(const std::string& path, const std::vector<EpochMetrics>& rows,
                       const std::vector<std::string>& iou_columns) {
  std::string text;
  for (const std::string& c : metrics_fixed_columns()) text += (text.empty() ? "" : ",") + c;
  for (const std::string& c : iou_columns) text += "," + c;
  text += '\n';
  for (const EpochMetrics& row : rows) {
    if (row.class_iou.size() != iou_columns.size())
      throw Error("metrics.csv: epoch " + std::to_string(row.epoch) + " has " + std::to_string(row.class_iou.size()) +
                  " class IoUs for " + std::to_string(iou_columns.size()) + " class columns");
    text += std::to_string(row.epoch);
    for (const Column& c : columns())
      if (c.field) text += "," + number(row.*c.field);
    for (double v : row.class_iou) text += "," + number(v);
    text += '\n';
  }
  io::AtomicFile file(path);
  file.stream() << text;
  file.commit();
}

MetricsTable read_metrics_csv(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) throw Error("metrics file '" + path + "' does not exist");
  const auto bytes = std::filesystem::file_size(path, ec);
  if (ec || bytes > static_cast<uintmax_t>(kMaxMetricsBytes))
    throw Error("metrics file '" + path + "' is larger than " + std::to_string(kMaxMetricsBytes >> 20) + " MiB");
  std::ifstream in(path, std::ios::binary);
  std::string text(static_cast<size_t>(bytes), '\0');
  if (!in.read(text.data(), static_cast<std::streamsize>(bytes))) throw Error("metrics file '" + path + "' cannot be read");
  return parse_metrics_csv(text, path);
}

MetricsTable parse_metrics_csv(const std::string& text, const std::string& name, MetricsReadCost* cost) {
  MetricsReadCost local;
  MetricsReadCost& c = cost ? *cost : local;
  c = MetricsReadCost{text.size(), 0, 0};
  const std::string file = "metrics file '" + name + "'";
  std::istringstream in(text);
  std::string line;
  if (!std::getline(in, line)) throw Error(file + " is empty");
  ++c.lines;
  if (!line.empty() && line.back() == '\r') line.pop_back();
  const std::vector<std::string> header = split_line(line);
  c.fields += header.size();
  // Where each header field goes: a fixed column, or the next class column.
  std::vector<const Column*> fixed(header.size(), nullptr);
  MetricsTable table;
  std::set<std::string> seen;
  for (size_t i = 0; i < header.size(); ++i) {
    if (!seen.insert(header[i]).second) throw Error(file + ": column '" + shown(header[i]) + "' twice");
    if (header[i].rfind(kIouPrefix, 0) == 0) {
      table.iou_columns.push_back(header[i]);
      continue;
    }
    for (const Column& col : columns())
      if (header[i] == col.name) fixed[i] = &col;
    if (!fixed[i]) throw Error(file + ": unknown column '" + shown(header[i]) + "'");
  }
  for (const Column& col : columns())
    if (col.required && !seen.count(col.name)) throw Error(file + " has no '" + col.name + "' column");

  for (int64_t number_of_line = 2; std::getline(in, line); ++number_of_line) {
    ++c.lines;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) continue;
    const std::string where = file + " line " + std::to_string(number_of_line);
    const std::vector<std::string> fields = split_line(line);
    c.fields += fields.size();
    if (fields.size() != header.size())
      throw Error(where + ": " + std::to_string(fields.size()) + " fields for " + std::to_string(header.size()) +
                  " columns");
    EpochMetrics row;
    for (size_t i = 0; i < fields.size(); ++i) {
      double v = 0;
      if (!parse_number(fields[i], v)) throw Error(where + ": '" + shown(fields[i]) + "' is not a number");
      if (!fixed[i]) {
        row.class_iou.push_back(v);
      } else if (fixed[i]->field) {
        row.*(fixed[i]->field) = v;
      } else {
        if (!(v >= 1 && v < 1e9 && v == std::floor(v)))
          throw Error(where + ": epoch '" + shown(fields[i]) + "' is not a positive whole number");
        row.epoch = static_cast<int64_t>(v);
      }
    }
    if (!table.rows.empty() && row.epoch <= table.rows.back().epoch)
      throw Error(where + ": epoch " + std::to_string(row.epoch) + " does not follow epoch " +
                  std::to_string(table.rows.back().epoch));
    table.rows.push_back(std::move(row));
  }
  return table;
}

std::string class_name(const std::vector<std::string>& names, int64_t index) {
  return index >= 0 && index < static_cast<int64_t>(names.size()) ? names[index] : std::to_string(index);
}

std::string class_iou_table(const ConfusionMatrix& confusion, const std::vector<std::string>& names) {
  const std::vector<double> iou = confusion.class_iou(), acc = confusion.class_accuracy();
  size_t width = 5;
  for (int64_t c = 0; c < confusion.num_classes(); ++c) width = std::max(width, class_name(names, c).size());
  std::string out;
  char line[512];
  std::snprintf(line, sizeof line, "%5s  %-*s  %7s  %7s\n", "index", static_cast<int>(width), "class", "IoU", "Acc");
  out += line;
  for (int64_t c = 0; c < confusion.num_classes(); ++c) {
    std::snprintf(line, sizeof line, "%5lld  %-*s  %7s  %7s\n", static_cast<long long>(c), static_cast<int>(width),
                  class_name(names, c).substr(0, 400).c_str(), percent_text(iou[c]).c_str(), percent_text(acc[c]).c_str());
    out += line;
  }
  return out;
}

std::string seg_metrics_json(const ConfusionMatrix& confusion, const std::vector<std::string>& names) {
  const std::vector<double> iou = confusion.class_iou(), acc = confusion.class_accuracy();
  const std::vector<int64_t> pixels = confusion.target_pixels();
  nlohmann::json classes = nlohmann::json::array();
  for (int64_t c = 0; c < confusion.num_classes(); ++c)
    classes.push_back({{"index", c}, {"name", class_name(names, c)}, {"iou", value_or_null(iou[c])},
                       {"accuracy", value_or_null(acc[c])}, {"pixels", pixels[c]}});
  const nlohmann::json j = {{"pixel_accuracy", value_or_null(confusion.pixel_accuracy())},
                            {"seed_accuracy", value_or_null(confusion.seed_accuracy())},
                            {"mean_iou", value_or_null(confusion.mean_iou())},
                            {"counted_pixels", confusion.counted_pixels()},
                            {"all_pixels", confusion.all_pixels()},
                            {"classes", classes}};
  return j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

}  // namespace reskit::tasks
