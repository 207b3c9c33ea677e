#pragma once
// `reskit summary`: torchinfo 1.8.0's summary(), reproduced from its source.
// summarize() runs one forward pass with a CallObserver installed (our
// stand-in for PyTorch's forward hooks) and keeps torchinfo's accounting as
// data; the format_* functions print it as torchinfo's table or as JSON.
#include <torch/nn/module.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace reskit::models {
struct Model;
}

namespace reskit::tasks {

// torchinfo's col_names, in the order the user lists them.
enum class SummaryColumn { kInputSize, kOutputSize, kNumParams, kParamsPercent, kKernelSize, kMultAdds, kTrainable };

struct SummaryOptions {
  int64_t depth = 3;  // rows deeper than this are hidden (their counts fold into the row at `depth`)
  std::vector<SummaryColumn> columns = {SummaryColumn::kOutputSize, SummaryColumn::kNumParams};
  // torchinfo's row_settings; the default is {"depth"}.
  bool show_depth = true;
  bool show_var_names = false;
  bool ascii_only = false;
  bool hide_recursive_layers = false;
  int64_t col_width = 25;
};

// Parsing at the edge: torchinfo's own words; unknown ones are one-line errors.
SummaryColumn parse_summary_column(const std::string& name);
std::string summary_column_name(SummaryColumn column);
// Replaces the row settings of `options` with the listed ones.
void set_summary_row_settings(SummaryOptions& options, const std::vector<std::string>& settings);

// One line of torchinfo's summary_list: a module call (or a container that
// was never called itself, added so its children have a parent row).
struct SummaryRow {
  std::string class_name;  // the Python class name: Conv2d, Bottleneck, ...
  std::string var_name;    // the attribute name; the root's is its class name
  std::string path;        // dotted module path ("" for the root)
  int64_t depth = 0;
  int64_t depth_index = 0;  // running count per depth over the whole list, as torchinfo numbers them
  std::vector<int64_t> input_size, output_size;  // first tensor in, first tensor out; empty when none
  std::string kernel_size;  // torchinfo's text ("[3, 3]", "3"), empty when the module has none
  int64_t num_params = 0;        // every parameter of the module and its submodules
  int64_t trainable_params = 0;
  int64_t leftover_params = 0;   // not accounted for by the rows below it
  int64_t param_bytes = 0;
  int64_t output_bytes = 0;
  int64_t macs = 0;
  int64_t child_leaf_macs = 0;   // what the row shows at the depth limit when it is a container
  bool is_leaf = false;
  bool is_recursive = false;     // the module already has a row (a second call or a shared module)
  bool executed = false;
};

struct SummaryTotals {
  int64_t total_params = 0;
  int64_t trainable_params = 0;
  int64_t total_mult_adds = 0;
  int64_t input_size_bytes = 0;
  int64_t forward_backward_bytes = 0;
  int64_t params_bytes = 0;
  int64_t non_trainable_params() const { return total_params - trainable_params; }
  int64_t total_bytes() const { return input_size_bytes + forward_backward_bytes + params_bytes; }
};

struct SummaryResult {
  std::vector<std::vector<int64_t>> input_sizes;  // none: torchinfo leaves out mult-adds and sizes
  std::vector<SummaryRow> rows;  // every row, at every depth; formatting picks the visible ones
  SummaryTotals totals;
};

using SummaryForward = std::function<std::vector<at::Tensor>(const std::vector<at::Tensor>&)>;

// Runs `forward(inputs)` once in eval mode under no-grad (torchinfo's
// defaults), restoring the module's training mode afterwards. `root` is the
// module forward runs; its children must be called through reskit::call().
SummaryResult summarize(torch::nn::Module& root, const SummaryForward& forward, const std::vector<at::Tensor>& inputs);
// The registry model on torch.rand-like inputs of the given sizes (as
// torchinfo's input_size does); a forward error names the model and sizes.
SummaryResult summarize(const models::Model& model, const std::vector<std::vector<int64_t>>& input_sizes);

// torchinfo's str(ModelStatistics): no trailing newline (print() adds it).
std::string format_summary_table(const SummaryResult& result, const SummaryOptions& options);
// One JSON object: the totals (counts, bytes and MB) and the rows the table shows.
std::string format_summary_json(const SummaryResult& result, const SummaryOptions& options);

}  // namespace reskit::tasks
