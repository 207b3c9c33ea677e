// torchinfo 1.8.0's summary() in C++, the recording half: one forward pass
// with a CallObserver installed, turned into torchinfo's summary_list and
// its totals. Each step keeps the name of the torchinfo function it
// reproduces (torchinfo.py, layer_info.py, model_statistics.py), including
// its quirks: the table is acceptance data, so "what torchinfo does" wins
// over "what looks right".
#include <ATen/ATen.h>
#include <c10/util/Exception.h>
#include <torch/csrc/autograd/grad_mode.h>

#include <deque>
#include <limits>
#include <map>
#include <unordered_map>
#include <unordered_set>

#include "reskit/core/error.h"
#include "reskit/core/module_call.h"
#include "reskit/core/text_format.h"
#include "reskit/models/registry.h"
#include "reskit/tasks/memory_check.h"
#include "reskit/tasks/model_setup.h"
#include "reskit/tasks/python_view.h"
#include "reskit/tasks/summary.h"

namespace reskit::tasks {
namespace {

// ---- what torchinfo reads off a module ---------------------------------------

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
        kernel_size(python_kernel_size(m)) {}

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

}  // namespace

SummaryResult summarize(torch::nn::Module& root, const SummaryForward& forward, const std::vector<at::Tensor>& inputs) {
  Recorder recorder(root);
  // torchinfo's default mode, the model's own restored afterwards. A model
  // already in eval mode is not written to: threads serving it may be
  // running it (the memory check summarises a probe of a live model).
  const bool was_training = root.is_training();
  if (was_training) root.eval();
  try {
    torch::NoGradGuard no_grad;
    ObserveCalls observe(&recorder);
    // The root's forward is called here, not through reskit::call().
    recorder.enter(root, inputs);
    std::vector<at::Tensor> outputs = forward(inputs);
    recorder.leave(root, outputs);
  } catch (...) {
    if (was_training) root.train(true);
    throw;
  }
  if (was_training) root.train(true);
  return recorder.finish(inputs);
}

SummaryResult summarize(const models::Model& model, const std::vector<std::vector<int64_t>>& input_sizes) {
  std::vector<at::Tensor> inputs;
  c10::Device device = c10::Device(c10::kCPU);
  for (const at::Tensor& p : model.module->parameters()) {
    device = p.device();
    break;
  }
  for (const auto& size : input_sizes)
    for (int64_t d : size)
      if (d <= 0) throw Error(model.name + ": input sizes must be positive, got " + sizes_text(size));
  check_forward_memory(model.name, *model.module, model.forward, input_sizes);
  for (const auto& size : input_sizes)
    inputs.push_back(at::rand(size, at::TensorOptions().device(device)));  // torch.rand: only the shape matters
  try {
    return summarize(*model.module, model.forward, inputs);
  } catch (const c10::Error& e) {
    throw cannot_run(model.name, input_sizes, e);
  }
}

}  // namespace reskit::tasks
