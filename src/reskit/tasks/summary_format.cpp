// torchinfo 1.8.0's summary() in C++, the printing half: its table
// (FormattingOptions, LayerInfo.*_to_str, ModelStatistics.__repr__) and
// reskit's JSON, from what summary_record.cpp recorded.
#include <cmath>
#include <nlohmann/json.hpp>

#include "reskit/core/error.h"
#include "reskit/core/text_format.h"
#include "reskit/tasks/summary.h"

namespace reskit::tasks {
namespace {

// ---- formatting: FormattingOptions, LayerInfo.*_to_str, ModelStatistics.__repr__ ---

// Python's len(): code points, not bytes (the tree characters are 3 bytes each).
size_t text_width(const std::string& s) {
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

// f"{x:.2f}"
std::string fixed2(double x) { return python_fixed(x, 2); }

std::string pad_right(const std::string& s, size_t width) {
  const size_t w = text_width(s);
  return w >= width ? s : s + std::string(width - w, ' ');
}

// str(list) for a shape; FormattingOptions.str_ shows "--" for an empty one.
std::string shape_text(const std::vector<int64_t>& v) { return v.empty() ? "--" : python_list(v); }

std::string trainable_text(const SummaryRow& r) {
  if (r.num_params == 0) return "--";
  if (r.trainable_params == 0) return "False";
  if (r.num_params == r.trainable_params) return "True";
  return "Partial";
}

std::string num_params_text(const SummaryRow& r, bool reached_max_depth) {
  if (r.num_params == 0) return "--";
  if (r.is_recursive) return "(recursive)";
  if (reached_max_depth || r.is_leaf) {
    const std::string count = with_commas(r.num_params);
    return r.trainable_params ? count : "(" + count + ")";
  }
  return r.leftover_params > 0 ? with_commas(r.leftover_params) : "--";
}

std::string params_percent_text(const SummaryRow& r, int64_t total_params, bool reached_max_depth) {
  const std::string zero = "     --";
  if (total_params == 0) return zero;
  if (r.is_recursive) return "(recursive)";
  const int64_t params = reached_max_depth || r.is_leaf ? r.num_params : r.leftover_params;
  if (params == 0) return zero;
  // f"{x:>7.2%}": Python multiplies by 100 in double, then formats "f".
  const std::string s = fixed2(static_cast<double>(params) / static_cast<double>(total_params) * 100.0) + "%";
  return s.size() >= 7 ? s : std::string(7 - s.size(), ' ') + s;
}

std::string macs_text(const SummaryRow& r, bool reached_max_depth) {
  if (r.macs <= 0) return "--";
  if (r.is_leaf) return with_commas(r.macs);
  if (reached_max_depth) return with_commas(r.child_leaf_macs);
  return "--";
}

std::string layer_name(const SummaryRow& r, const SummaryOptions& o) {
  std::string name = r.class_name;
  if (o.show_var_names && !r.var_name.empty()) name += " (" + r.var_name + ")";
  if (o.show_depth && r.depth > 0) name += ": " + std::to_string(r.depth) + "-" + std::to_string(r.depth_index);
  return name;
}

std::string start_text(int64_t depth, bool ascii_only) {
  if (depth == 0) return "";
  if (depth == 1) return ascii_only ? "+ " : "├─";
  std::string s;
  for (int64_t i = 1; i < depth; ++i) s += ascii_only ? "|    " : "│    ";
  return s + (ascii_only ? "+ " : "└─");
}

// set_layer_name_width: the longest name plus its indent, over every row
// (hidden ones too), rounded up to a multiple of 5; at least 40.
size_t layer_name_width(const SummaryResult& result, const SummaryOptions& o) {
  size_t max_length = 0;
  for (const SummaryRow& r : result.rows)
    max_length = std::max(max_length, text_width(layer_name(r, o)) + static_cast<size_t>(r.depth) * 5 + 1);
  const size_t width = 40;
  return max_length >= width ? (max_length + 4) / 5 * 5 : width;
}

std::string header_title(SummaryColumn c) {
  switch (c) {
    case SummaryColumn::kKernelSize: return "Kernel Shape";
    case SummaryColumn::kInputSize: return "Input Shape";
    case SummaryColumn::kOutputSize: return "Output Shape";
    case SummaryColumn::kNumParams: return "Param #";
    case SummaryColumn::kParamsPercent: return "Param %";
    case SummaryColumn::kMultAdds: return "Mult-Adds";
    case SummaryColumn::kTrainable: return "Trainable";
  }
  return "";
}

std::string cell_text(const SummaryRow& r, SummaryColumn c, bool reached_max_depth, int64_t total_params) {
  switch (c) {
    case SummaryColumn::kKernelSize: return r.kernel_size.empty() ? "--" : r.kernel_size;
    case SummaryColumn::kInputSize: return shape_text(r.input_size);
    case SummaryColumn::kOutputSize: return shape_text(r.output_size);
    case SummaryColumn::kNumParams: return num_params_text(r, reached_max_depth);
    case SummaryColumn::kParamsPercent: return params_percent_text(r, total_params, reached_max_depth);
    case SummaryColumn::kMultAdds: return macs_text(r, reached_max_depth);
    case SummaryColumn::kTrainable: return trainable_text(r);
  }
  return "";
}

// FormattingOptions.format_row: left-aligned cells, one space after each, right-stripped.
std::string format_row(const std::string& name, const std::vector<std::string>& cells, size_t name_width,
                       size_t col_width) {
  std::string line = pad_right(name, name_width) + " ";
  for (const std::string& cell : cells) line += pad_right(cell, col_width) + " ";
  while (!line.empty() && line.back() == ' ') line.pop_back();
  return line + "\n";
}

bool visible(const SummaryRow& r, const SummaryOptions& o) {
  return r.depth <= o.depth && !(o.hide_recursive_layers && r.is_recursive);
}

// ModelStatistics.format_output_num with AUTO units (mult-adds).
std::string mult_adds_text(int64_t num) {
  const double n = static_cast<double>(num);
  std::string unit = "M";
  double value = n / 1e6;
  if (n >= 1e12) {
    unit = "T";
    value = n / 1e12;
  } else if (n >= 1e9) {
    unit = "G";
    value = n / 1e9;
  }
  const std::string number =
      value == std::floor(value) ? with_commas(static_cast<int64_t>(value)) : python_fixed_with_commas(value, 2);
  return " (" + unit + "): " + number;
}

double megabytes(int64_t bytes) { return static_cast<double>(bytes) / 1e6; }

const std::vector<std::pair<SummaryColumn, std::string>> kColumnNames = {
    {SummaryColumn::kInputSize, "input_size"},         {SummaryColumn::kOutputSize, "output_size"},
    {SummaryColumn::kNumParams, "num_params"},         {SummaryColumn::kParamsPercent, "params_percent"},
    {SummaryColumn::kKernelSize, "kernel_size"},       {SummaryColumn::kMultAdds, "mult_adds"},
    {SummaryColumn::kTrainable, "trainable"},
};


}  // namespace

SummaryColumn parse_summary_column(const std::string& name) {
  std::string known;
  for (const auto& [column, text] : kColumnNames) {
    if (text == name) return column;
    known += (known.empty() ? "" : ", ") + text;
  }
  throw Error("summary: unknown column '" + name + "' (columns: " + known + ")");
}

std::string summary_column_name(SummaryColumn column) {
  for (const auto& [c, text] : kColumnNames)
    if (c == column) return text;
  return "";
}

void set_summary_row_settings(SummaryOptions& options, const std::vector<std::string>& settings) {
  options.show_depth = options.show_var_names = options.ascii_only = options.hide_recursive_layers = false;
  for (const std::string& s : settings) {
    if (s == "depth")
      options.show_depth = true;
    else if (s == "var_names")
      options.show_var_names = true;
    else if (s == "ascii_only")
      options.ascii_only = true;
    else if (s == "hide_recursive_layers")
      options.hide_recursive_layers = true;
    else
      throw Error("summary: unknown row setting '" + s +
                  "' (row settings: depth, var_names, ascii_only, hide_recursive_layers)");
  }
}

std::string format_summary_table(const SummaryResult& result, const SummaryOptions& o) {
  const size_t name_width = layer_name_width(result, o);
  const size_t col_width = static_cast<size_t>(o.col_width);
  const std::string divider(o.columns.size() * col_width + name_width, '=');
  const int64_t total_params = result.totals.total_params;

  std::string header = "Layer (type";
  if (o.show_var_names) header += " (var_name)";
  if (o.show_depth) header += ":depth-idx";
  std::vector<std::string> titles;
  for (SummaryColumn c : o.columns) titles.push_back(header_title(c));

  std::string s = divider + "\n" + format_row(header + ")", titles, name_width, col_width) + divider + "\n";
  for (const SummaryRow& r : result.rows) {
    if (!visible(r, o)) continue;
    const bool reached_max_depth = r.depth == o.depth;
    std::vector<std::string> cells;
    for (SummaryColumn c : o.columns) cells.push_back(cell_text(r, c, reached_max_depth, total_params));
    s += format_row(start_text(r.depth, o.ascii_only) + layer_name(r, o), cells, name_width, col_width);
  }
  const SummaryTotals& t = result.totals;
  s += divider + "\n";
  s += "Total params: " + with_commas(t.total_params) + "\n";
  s += "Trainable params: " + with_commas(t.trainable_params) + "\n";
  s += "Non-trainable params: " + with_commas(t.non_trainable_params()) + "\n";
  if (!result.input_sizes.empty()) {
    s += "Total mult-adds" + mult_adds_text(t.total_mult_adds) + "\n" + divider + "\n";
    s += "Input size (MB): " + fixed2(megabytes(t.input_size_bytes)) + "\n";
    s += "Forward/backward pass size (MB): " + fixed2(megabytes(t.forward_backward_bytes)) + "\n";
    s += "Params size (MB): " + fixed2(megabytes(t.params_bytes)) + "\n";
    s += "Estimated Total Size (MB): " + fixed2(megabytes(t.total_bytes())) + "\n";
  }
  return s + divider;
}

std::string format_summary_json(const SummaryResult& result, const SummaryOptions& o) {
  const SummaryTotals& t = result.totals;
  nlohmann::json layers = nlohmann::json::array();
  for (const SummaryRow& r : result.rows) {
    if (!visible(r, o)) continue;
    layers.push_back({{"name", r.var_name},
                      {"type", r.class_name},
                      {"path", r.path},
                      {"depth", r.depth},
                      {"depth_index", r.depth_index},
                      {"input_shape", r.input_size},
                      {"output_shape", r.output_size},
                      {"kernel_size", r.kernel_size.empty() ? nlohmann::json() : nlohmann::json(r.kernel_size)},
                      {"params", r.num_params},
                      {"trainable_params", r.trainable_params},
                      // A container's own macs are only a flag in torchinfo; its leaves' sum is the number.
                      {"mult_adds", r.is_leaf ? r.macs : r.child_leaf_macs},
                      {"recursive", r.is_recursive}});
  }
  nlohmann::json out = {
      {"input_sizes", result.input_sizes},
      {"total_params", t.total_params},
      {"trainable_params", t.trainable_params},
      {"non_trainable_params", t.non_trainable_params()},
      {"total_mult_adds", t.total_mult_adds},
      {"input_size_bytes", t.input_size_bytes},
      {"forward_backward_size_bytes", t.forward_backward_bytes},
      {"params_size_bytes", t.params_bytes},
      {"total_size_bytes", t.total_bytes()},
      {"input_size_mb", megabytes(t.input_size_bytes)},
      {"forward_backward_size_mb", megabytes(t.forward_backward_bytes)},
      {"params_size_mb", megabytes(t.params_bytes)},
      {"total_size_mb", megabytes(t.total_bytes())},
      {"layers", layers},
  };
  return out.dump(2);
}

}  // namespace reskit::tasks
