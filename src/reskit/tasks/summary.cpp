// torchinfo 1.8.0's summary() in C++. Each step keeps the name of the
// torchinfo function it reproduces (torchinfo.py, layer_info.py,
// model_statistics.py, formatting.py), including its quirks: the table is
// acceptance data, so "what torchinfo does" wins over "what looks right".
#include "reskit/tasks/summary.h"

#include <ATen/ATen.h>
#include <c10/util/Exception.h>
#include <torch/csrc/autograd/grad_mode.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/pooling.h>

#include <cmath>
#include <cstdio>
#include <deque>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <unordered_map>
#include <unordered_set>

#include "reskit/core/error.h"
#include "reskit/core/module_call.h"
#include "reskit/layers/conv_module.h"
#include "reskit/models/registry.h"

namespace reskit::tasks {
namespace {

// ---- what torchinfo reads off a module ---------------------------------------

// Python's type(module).__name__: LibTorch names its modules after the C++
// type ("torch::nn::Conv2dImpl"); reskit's pass the Python name explicitly.
std::string python_class_name(const torch::nn::Module& module) {
  std::string name = module.name();
  name = name.substr(0, name.find('<'));  // a template's own name, not its arguments'
  const size_t colon = name.rfind("::");
  if (colon != std::string::npos) name = name.substr(colon + 2);
  const std::string impl = "Impl";
  if (name.size() > impl.size() && name.compare(name.size() - impl.size(), impl.size(), impl) == 0)
    name.resize(name.size() - impl.size());
  return name;
}

template <size_t D>
std::string list_text(const torch::ExpandingArray<D>& a) {
  std::string s = "[";
  for (size_t i = 0; i < D; ++i) s += (i ? ", " : "") + std::to_string((*a)[i]);
  return s + "]";
}

// PyTorch pooling modules keep kernel_size as the caller wrote it (an int or a
// tuple), LibTorch only keeps the expanded array. Every reference we mirror
// writes an int when all sides are equal (MaxPool2d(kernel_size=3)), so that
// is what an all-equal array prints as.
template <size_t D>
std::string as_written_text(const torch::ExpandingArray<D>& a) {
  for (size_t i = 1; i < D; ++i)
    if ((*a)[i] != (*a)[0]) return list_text(a);
  return std::to_string((*a)[0]);
}

// LayerInfo.get_kernel_size: modules with a `kernel_size` attribute. Conv
// modules store a tuple (a list in the table); pooling modules as written.
std::string kernel_size_text(const torch::nn::Module& m) {
  using namespace torch::nn;
#define RESKIT_KERNEL(Type, text) \
  if (auto* p = dynamic_cast<const Type*>(&m)) return text(p->options.kernel_size());
  RESKIT_KERNEL(Conv1dImpl, list_text)
  RESKIT_KERNEL(Conv2dImpl, list_text)
  RESKIT_KERNEL(Conv3dImpl, list_text)
  RESKIT_KERNEL(ConvTranspose1dImpl, list_text)
  RESKIT_KERNEL(ConvTranspose2dImpl, list_text)
  RESKIT_KERNEL(ConvTranspose3dImpl, list_text)
  RESKIT_KERNEL(MaxPool1dImpl, as_written_text)
  RESKIT_KERNEL(MaxPool2dImpl, as_written_text)
  RESKIT_KERNEL(MaxPool3dImpl, as_written_text)
  RESKIT_KERNEL(AvgPool1dImpl, as_written_text)
  RESKIT_KERNEL(AvgPool2dImpl, as_written_text)
  RESKIT_KERNEL(AvgPool3dImpl, as_written_text)
  RESKIT_KERNEL(MaxUnpool1dImpl, as_written_text)
  RESKIT_KERNEL(MaxUnpool2dImpl, as_written_text)
  RESKIT_KERNEL(MaxUnpool3dImpl, as_written_text)
  RESKIT_KERNEL(LPPool1dImpl, as_written_text)
  RESKIT_KERNEL(LPPool2dImpl, as_written_text)
  RESKIT_KERNEL(FractionalMaxPool2dImpl, as_written_text)
  RESKIT_KERNEL(FractionalMaxPool3dImpl, as_written_text)
#undef RESKIT_KERNEL
  // mmcv's ConvModule keeps its conv's kernel_size as its own attribute.
  if (auto* p = dynamic_cast<const layers::ConvModuleImpl*>(&m)) return kernel_size_text(*p->conv());
  return "";
}

struct NamedParam {
  std::string name;  // relative to the module: "weight", "0.weight", ...
  at::Tensor tensor;
};

// Python's module.named_parameters(): pre-order over the submodules, each
// module and each parameter once. LibTorch keeps an undefined tensor for an
// absent bias; Python has None there, which it skips.
void collect_named_parameters(const torch::nn::Module& module, const std::string& prefix,
                              std::unordered_set<const torch::nn::Module*>& seen_modules,
                              std::unordered_set<const void*>& seen_params, std::vector<NamedParam>& out) {
  if (!seen_modules.insert(&module).second) return;
  for (const auto& item : module.named_parameters(/*recurse=*/false)) {
    const at::Tensor& t = item.value();
    if (!t.defined() || !seen_params.insert(t.unsafeGetTensorImpl()).second) continue;
    out.push_back({prefix + item.key(), t});
  }
  for (const auto& child : module.named_children())
    collect_named_parameters(*child.value(), prefix + child.key() + ".", seen_modules, seen_params, out);
}

std::vector<NamedParam> named_parameters(const torch::nn::Module& module) {
  std::unordered_set<const torch::nn::Module*> seen_modules;
  std::unordered_set<const void*> seen_params;
  std::vector<NamedParam> out;
  collect_named_parameters(module, "", seen_modules, seen_params, out);
  return out;
}

// layer_info.prod over the first `count` entries (all by default); 1 when empty.
int64_t prod(const std::vector<int64_t>& v, size_t count = std::numeric_limits<size_t>::max()) {
  int64_t p = 1;
  const size_t n = std::min(count, v.size());
  for (size_t i = 0; i < n; ++i) p *= v[i];
  return p;
}

// LayerInfo.calculate_size / nested_list_size: the first tensor stands for all.
std::pair<std::vector<int64_t>, int64_t> first_tensor_size(const std::vector<at::Tensor>& tensors) {
  if (tensors.empty() || !tensors[0].defined()) return {{}, 0};
  return {tensors[0].sizes().vec(), static_cast<int64_t>(tensors[0].element_size())};
}

// ---- LayerInfo ------------------------------------------------------------------

struct LayerInfo {
  LayerInfo(const torch::nn::Module& m, std::string var, std::string module_path, int64_t d, LayerInfo* parent_info)
      : module(&m),
        class_name(python_class_name(m)),
        var_name(std::move(var)),
        path(std::move(module_path)),
        depth(d),
        parent(parent_info),
        is_leaf(m.children().empty()),
        kernel_size(kernel_size_text(m)) {}

  const torch::nn::Module* module;
  std::string class_name, var_name, path;
  int64_t depth;
  int64_t depth_index = 0;
  LayerInfo* parent;
  bool is_leaf;
  std::string kernel_size;
  bool executed = false;
  bool is_recursive = false;
  std::vector<int64_t> input_size, output_size;
  int64_t num_params = 0, trainable_params = 0, param_bytes = 0, output_bytes = 0, macs = 0;
  size_t children_begin = 0, children_end = 0;  // positions in the summary list (get_children_layers)

  void calculate_num_params() {
    num_params = trainable_params = param_bytes = 0;
    for (const NamedParam& p : named_parameters(*module)) {
      const int64_t count = p.tensor.numel();
      param_bytes += static_cast<int64_t>(p.tensor.element_size()) * count;
      num_params += count;
      if (p.tensor.requires_grad()) trainable_params += count;
    }
  }

  // LayerInfo.calculate_macs: a parameter's count times the output positions it
  // is applied at. Nested names ("0.weight") take the RNN branch, which is what
  // gives a container a non-zero value (only ever compared with zero).
  void calculate_macs() {
    const int64_t batch = output_size.empty() ? 0 : output_size[0];
    for (const NamedParam& p : named_parameters(*module)) {
      const int64_t count = p.tensor.numel();
      if (p.name == "weight" || p.name == "bias") {
        if (class_name.find("Conv") != std::string::npos) {
          std::vector<int64_t> spatial = {batch};  // output_size[:1] + output_size[2:]
          if (output_size.size() > 2) spatial.insert(spatial.end(), output_size.begin() + 2, output_size.end());
          macs += count * (output_size.empty() ? 1 : prod(spatial));
        } else {
          macs += batch * count;
        }
      } else if (p.name.find("weight") != std::string::npos || p.name.find("bias") != std::string::npos) {
        macs += prod(output_size, 2) * count;
      }
    }
  }
};

// ---- the forward pass: apply_hooks, construct_pre_hook, construct_hook -----------

class Recorder : public CallObserver {
 public:
  explicit Recorder(const torch::nn::Module& root) { register_hooks(root); }

  void enter(const torch::nn::Module& module, const std::vector<at::Tensor>& inputs) override {
    auto hook = hooks_.find(&module);
    if (hook == hooks_.end()) return;  // not in the module tree: Python would have no hook on it
    const Hook& h = hook->second;
    LayerInfo& info = arena_.emplace_back(module, h.var_name, h.path, h.depth, h.parent);
    info.calculate_num_params();
    info.is_recursive = layer_ids_.count(&module) > 0;  // check_recursive
    list_.push_back(&info);
    layer_ids_.insert(&module);
    latest_[&module] = &info;
    pending_inputs_[&module].push_back(first_tensor_size(inputs).first);
  }

  void leave(const torch::nn::Module& module, const std::vector<at::Tensor>& outputs) override {
    auto latest = latest_.find(&module);
    if (latest == latest_.end()) return;
    // Python's hook updates global_layer_info[id(module)]: the latest row of the module.
    LayerInfo& info = *latest->second;
    auto& pending = pending_inputs_[&module];
    info.input_size = pending.back();
    pending.pop_back();
    auto [size, elem_bytes] = first_tensor_size(outputs);
    info.output_size = size;
    info.output_bytes = elem_bytes * prod(size);
    info.executed = true;
    info.calculate_macs();
  }

  SummaryResult finish(const std::vector<at::Tensor>& inputs);

 private:
  struct Hook {
    std::string var_name, path;
    int64_t depth;
    LayerInfo* parent;  // the parent's fallback LayerInfo, as in apply_hooks
  };

  // apply_hooks: a pre-order walk that keeps, per module, the last place it
  // was met; the fallback LayerInfos are the parents' "parent_info".
  void register_hooks(const torch::nn::Module& root) {
    struct Item {
      std::string var_name, path;
      const torch::nn::Module* module;
      int64_t depth;
      LayerInfo* parent;
    };
    std::vector<Item> stack = {{python_class_name(root), "", &root, 0, nullptr}};
    while (!stack.empty()) {
      Item item = stack.back();
      stack.pop_back();
      LayerInfo& fallback = arena_.emplace_back(*item.module, item.var_name, item.path, item.depth, item.parent);
      hooks_[item.module] = {item.var_name, item.path, item.depth, item.parent};
      auto children = item.module->named_children();
      for (auto it = children.end(); it != children.begin();) {
        --it;
        const std::string path = item.path.empty() ? it->key() : item.path + "." + it->key();
        stack.push_back({it->key(), path, it->value().get(), item.depth + 1, &fallback});
      }
    }
  }

  void add_missing_container_layers();
  void set_children_layers();
  int64_t leftover_params(const LayerInfo& info);
  int64_t leftover_trainable_params(const LayerInfo& info);

  std::deque<LayerInfo> arena_;  // stable addresses; the list may hold one LayerInfo twice
  std::vector<LayerInfo*> list_;
  std::unordered_map<const torch::nn::Module*, Hook> hooks_;
  std::unordered_map<const torch::nn::Module*, LayerInfo*> latest_;
  std::unordered_map<const torch::nn::Module*, std::vector<std::vector<int64_t>>> pending_inputs_;
  std::unordered_set<const torch::nn::Module*> layer_ids_;
  std::unordered_map<const LayerInfo*, int64_t> leftover_memo_, leftover_trainable_memo_;
};

// add_missing_container_layers, step for step: containers that never ran
// (or whose row is not the current parent) are inserted above their first
// child. Python iterates the list while inserting into it, so the rows just
// inserted are visited again; the index arithmetic below keeps that.
void Recorder::add_missing_container_layers() {
  std::unordered_set<const torch::nn::Module*> layer_ids;
  for (const LayerInfo* l : list_) layer_ids.insert(l->module);
  std::map<int64_t, LayerInfo*> current_hierarchy;
  for (size_t idx = 0; idx < list_.size(); ++idx) {
    LayerInfo* layer_info = list_[idx];
    size_t rel_idx = 0;
    std::map<int64_t, LayerInfo*> hierarchy;
    for (LayerInfo* parent = layer_info->parent; parent && parent->depth > 0; parent = parent->parent)
      hierarchy[parent->depth] = parent;
    for (int64_t d = 1; d < layer_info->depth; ++d) {
      LayerInfo* h = hierarchy.at(d);
      auto current = current_hierarchy.find(d);
      const bool not_current = current == current_hierarchy.end() || current->second->module != h->module;
      // summary_list[idx + rel_idx - 1]; Python's index -1 is the last row.
      const LayerInfo* previous = idx + rel_idx == 0 ? list_.back() : list_[idx + rel_idx - 1];
      if (not_current && h != previous) {
        h->calculate_num_params();
        if (layer_ids.count(h->module)) h->is_recursive = true;
        list_.insert(list_.begin() + static_cast<std::ptrdiff_t>(idx + rel_idx), h);
        layer_ids.insert(h->module);
        current_hierarchy[d] = h;
        ++rel_idx;
      }
    }
    current_hierarchy[layer_info->depth] = layer_info;
    for (int64_t d = layer_info->depth + 1; current_hierarchy.erase(d) > 0; ++d) {
    }
  }
}

// set_children_layers: depth_index counts per depth over the whole list; the
// "children" are every following row that is deeper (all descendants).
void Recorder::set_children_layers() {
  std::map<int64_t, int64_t> counter;
  for (size_t i = 0; i < list_.size(); ++i) {
    LayerInfo* layer = list_[i];
    layer->depth_index = ++counter[layer->depth];
    size_t end = i + 1;
    while (end < list_.size() && list_[end]->depth > layer->depth) ++end;
    layer->children_begin = i + 1;
    layer->children_end = end;
  }
}

// LayerInfo.leftover_params: what the rows below do not account for. Python
// recomputes this recursively; the children are fixed by now, so it is memoised.
int64_t Recorder::leftover_params(const LayerInfo& info) {
  auto memo = leftover_memo_.find(&info);
  if (memo != leftover_memo_.end()) return memo->second;
  int64_t left = info.num_params;
  for (size_t i = info.children_begin; i < info.children_end; ++i) {
    const LayerInfo& child = *list_[i];
    if (child.is_recursive) continue;
    left -= child.is_leaf ? child.num_params : leftover_params(child);
  }
  return leftover_memo_[&info] = left;
}

int64_t Recorder::leftover_trainable_params(const LayerInfo& info) {
  auto memo = leftover_trainable_memo_.find(&info);
  if (memo != leftover_trainable_memo_.end()) return memo->second;
  int64_t left = info.trainable_params;
  for (size_t i = info.children_begin; i < info.children_end; ++i) {
    const LayerInfo& child = *list_[i];
    if (child.is_recursive) continue;
    left -= child.is_leaf ? child.trainable_params : leftover_trainable_params(child);
  }
  return leftover_trainable_memo_[&info] = left;
}

// Python's sys.getsizeof(tensor.storage()) on the reference interpreter
// (CPython 3.11, torch 1.13): the storage's bytes plus its object header.
constexpr int64_t kPythonStorageOverhead = 56;

SummaryResult Recorder::finish(const std::vector<at::Tensor>& inputs) {
  add_missing_container_layers();
  set_children_layers();

  SummaryResult result;
  SummaryTotals& t = result.totals;
  for (const at::Tensor& x : inputs) {
    result.input_sizes.push_back(x.sizes().vec());
    t.input_size_bytes += static_cast<int64_t>(x.storage().nbytes()) + kPythonStorageOverhead;
  }
  // ModelStatistics.__init__
  for (const LayerInfo* layer : list_) {
    if (layer->is_leaf) {
      t.total_mult_adds += layer->macs;
      if (layer->num_params > 0) t.forward_backward_bytes += layer->output_bytes * 2;  // x2 for gradients
      if (layer->is_recursive) continue;
      t.total_params += std::max<int64_t>(layer->num_params, 0);
      t.params_bytes += layer->param_bytes;
      t.trainable_params += std::max<int64_t>(layer->trainable_params, 0);
    } else {
      if (layer->is_recursive) continue;
      t.total_params += std::max<int64_t>(leftover_params(*layer), 0);
      t.trainable_params += std::max<int64_t>(leftover_trainable_params(*layer), 0);
    }
  }

  for (const LayerInfo* layer : list_) {
    SummaryRow row;
    row.class_name = layer->class_name;
    row.var_name = layer->var_name;
    row.path = layer->path;
    row.depth = layer->depth;
    row.depth_index = layer->depth_index;
    row.input_size = layer->input_size;
    row.output_size = layer->output_size;
    row.kernel_size = layer->kernel_size;
    row.num_params = layer->num_params;
    row.trainable_params = layer->trainable_params;
    row.leftover_params = leftover_params(*layer);
    row.param_bytes = layer->param_bytes;
    row.output_bytes = layer->output_bytes;
    row.macs = layer->macs;
    for (size_t i = layer->children_begin; i < layer->children_end; ++i)
      if (list_[i]->is_leaf) row.child_leaf_macs += list_[i]->macs;
    row.is_leaf = layer->is_leaf;
    row.is_recursive = layer->is_recursive;
    row.executed = layer->executed;
    result.rows.push_back(std::move(row));
  }
  return result;
}

// ---- formatting: FormattingOptions, LayerInfo.*_to_str, ModelStatistics.__repr__ ---

// Python's len(): code points, not bytes (the tree characters are 3 bytes each).
size_t text_width(const std::string& s) {
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

std::string pad_right(const std::string& s, size_t width) {
  const size_t w = text_width(s);
  return w >= width ? s : s + std::string(width - w, ' ');
}

// f"{n:,}"
std::string with_commas(int64_t n) {
  std::string digits = std::to_string(n < 0 ? -n : n), out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return (n < 0 ? "-" : "") + out;
}

// f"{x:.2f}" (glibc and CPython both round the exact binary value).
std::string fixed2(double x) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.2f", x);
  return buf;
}

// f"{x:,.2f}"
std::string fixed2_with_commas(double x) {
  std::string s = fixed2(x);
  const bool negative = s[0] == '-';
  if (negative) s = s.substr(1);
  const size_t dot = s.find('.');
  std::string out;
  for (size_t i = 0; i < dot; ++i) {
    if (i && (dot - i) % 3 == 0) out += ',';
    out += s[i];
  }
  return (negative ? "-" : "") + out + s.substr(dot);
}

// str(list) for a shape; FormattingOptions.str_ shows "--" for an empty one.
std::string shape_text(const std::vector<int64_t>& v) {
  if (v.empty()) return "--";
  std::string s = "[";
  for (size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + std::to_string(v[i]);
  return s + "]";
}

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
      value == std::floor(value) ? with_commas(static_cast<int64_t>(value)) : fixed2_with_commas(value);
  return " (" + unit + "): " + number;
}

double megabytes(int64_t bytes) { return static_cast<double>(bytes) / 1e6; }

const std::vector<std::pair<SummaryColumn, std::string>> kColumnNames = {
    {SummaryColumn::kInputSize, "input_size"},         {SummaryColumn::kOutputSize, "output_size"},
    {SummaryColumn::kNumParams, "num_params"},         {SummaryColumn::kParamsPercent, "params_percent"},
    {SummaryColumn::kKernelSize, "kernel_size"},       {SummaryColumn::kMultAdds, "mult_adds"},
    {SummaryColumn::kTrainable, "trainable"},
};

std::string sizes_text(const std::vector<std::vector<int64_t>>& sizes) {
  std::string s;
  for (const auto& size : sizes) {
    s += s.empty() ? "" : ", ";
    for (size_t i = 0; i < size.size(); ++i) s += (i ? "x" : "") + std::to_string(size[i]);
  }
  return s;
}

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

SummaryResult summarize(torch::nn::Module& root, const SummaryForward& forward, const std::vector<at::Tensor>& inputs) {
  Recorder recorder(root);
  const bool was_training = root.is_training();
  root.eval();  // torchinfo's default mode; it restores the model's own mode afterwards
  try {
    torch::NoGradGuard no_grad;
    ObserveCalls observe(&recorder);
    // The root's forward is called here, not through reskit::call().
    recorder.enter(root, inputs);
    std::vector<at::Tensor> outputs = forward(inputs);
    recorder.leave(root, outputs);
  } catch (...) {
    root.train(was_training);
    throw;
  }
  root.train(was_training);
  return recorder.finish(inputs);
}

SummaryResult summarize(const models::Model& model, const std::vector<std::vector<int64_t>>& input_sizes) {
  std::vector<at::Tensor> inputs;
  c10::Device device = c10::Device(c10::kCPU);
  for (const at::Tensor& p : model.module->parameters()) {
    device = p.device();
    break;
  }
  for (const auto& size : input_sizes) {
    for (int64_t d : size)
      if (d <= 0) throw Error(model.name + ": input sizes must be positive, got " + sizes_text({size}));
    inputs.push_back(at::rand(size, at::TensorOptions().device(device)));  // torch.rand: only the shape matters
  }
  try {
    return summarize(*model.module, model.forward, inputs);
  } catch (const c10::Error& e) {
    const std::string what = e.what_without_backtrace();
    throw Error(model.name + ": cannot run on input " + sizes_text(input_sizes) + ": " + what.substr(0, what.find('\n')));
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
