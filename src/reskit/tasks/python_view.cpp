#include "reskit/tasks/python_view.h"

#include <torch/enum.h>
#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/container/moduledict.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/dropout.h>
#include <torch/nn/functional/instancenorm.h>  // instancenorm.h uses it without including it
#include <torch/nn/modules/instancenorm.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>
#include <torch/nn/modules/pooling.h>
#include <torch/nn/modules/upsampling.h>

#include <cctype>
#include <functional>
#include <mutex>
#include <typeindex>
#include <unordered_map>
#include <variant>
#include <vector>

#include "reskit/core/python_hooks.h"
#include "reskit/core/text_format.h"

namespace reskit::tasks {
namespace {

namespace nn = torch::nn;

// ---- Python's spelling of values ---------------------------------------

std::string py(bool b) { return b ? "True" : "False"; }
std::string py(int64_t v) { return std::to_string(v); }
std::string py(double v) { return python_float_repr(v); }
std::string py(const c10::optional<int64_t>& v) { return v ? py(*v) : "None"; }
std::string py(const c10::optional<double>& v) { return v ? py(*v) : "None"; }

// A Python tuple: `(3, 3)`, and `(3,)` for one element.
template <typename T>
std::string py_tuple(const std::vector<T>& items) {
  std::string s = "(";
  for (size_t i = 0; i < items.size(); ++i) s += (i ? ", " : "") + py(items[i]);
  return s + (items.size() == 1 ? ",)" : ")");
}

template <size_t D, typename T>
std::vector<T> values(const torch::ExpandingArray<D, T>& a) {
  return std::vector<T>(a->begin(), a->end());
}

// Conv layers store tuples (_pair, _triple) whatever they were given.
template <size_t D, typename T>
std::string tuple_of(const torch::ExpandingArray<D, T>& a) {
  return py_tuple(values(a));
}

// Pooling layers store what the caller passed; torchvision and the seeds
// pass single ints, so equal values print as one int.
template <size_t D>
std::string int_or_tuple(const torch::ExpandingArray<D>& a) {
  const std::vector<int64_t> v = values(a);
  for (int64_t x : v)
    if (x != v[0]) return py_tuple(v);
  return py(v[0]);
}

// Adaptive pools: one size prints as an int; more as a tuple, the `(1, 1)`
// torchvision and the seeds write (`None` where a size is left free).
template <size_t D, typename T>
std::string output_size(const torch::ExpandingArray<D, T>& a) {
  return D == 1 ? py(a->at(0)) : tuple_of(a);
}

// `kReflect` -> `reflect`: LibTorch's enum names are Python's strings with a `k`.
template <typename Variant>
std::string enum_word(const Variant& v) {
  std::string name = torch::enumtype::get_enum_name(v);
  if (name.size() > 1 && name[0] == 'k') name = name.substr(1);
  for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return name;
}

// ---- extra_repr of the built-in modules ----------------------------------

// torch.nn.modules.conv._ConvNd.extra_repr (ConvNd and ConvTransposeNd)
template <size_t D, typename Impl>
std::string conv_extra(const Impl& m) {
  // LibTorch 1.13's padding is a c10::variant (found by ADL), 2.x's a std::variant.
  using std::get_if;
  const auto& o = m.options;
  const std::vector<int64_t> zeros(D, 0);
  std::string s = py(o.in_channels()) + ", " + py(o.out_channels()) + ", kernel_size=" + tuple_of(o.kernel_size()) +
                  ", stride=" + tuple_of(o.stride());
  if (const auto* p = get_if<torch::ExpandingArray<D>>(&o.padding())) {
    if (values(*p) != zeros) s += ", padding=" + tuple_of(*p);
  } else {
    // padding='same' / 'valid' stays a string, which Python's format() prints bare
    s += std::string(", padding=") + (get_if<torch::enumtype::kSame>(&o.padding()) ? "same" : "valid");
  }
  const std::vector<int64_t> dilation = values(o.dilation());
  if (dilation != std::vector<int64_t>(D, 1)) s += ", dilation=" + py_tuple(dilation);
  if (values(o.output_padding()) != zeros) s += ", output_padding=" + tuple_of(o.output_padding());
  if (o.groups() != 1) s += ", groups=" + py(o.groups());
  if (!o.bias()) s += ", bias=False";
  const std::string mode = enum_word(o.padding_mode());
  if (mode != "zeros") s += ", padding_mode=" + mode;
  return s;
}

// torch.nn.modules.batchnorm._NormBase.extra_repr (BatchNorm, InstanceNorm)
template <typename Options>
std::string norm_extra(const Options& o) {
  return py(o.num_features()) + ", eps=" + py(o.eps()) + ", momentum=" + py(o.momentum()) +
         ", affine=" + py(o.affine()) + ", track_running_stats=" + py(o.track_running_stats());
}

template <typename Impl>
std::string max_pool_extra(const Impl& m) {
  const auto& o = m.options;
  return "kernel_size=" + int_or_tuple(o.kernel_size()) + ", stride=" + int_or_tuple(o.stride()) +
         ", padding=" + int_or_tuple(o.padding()) + ", dilation=" + int_or_tuple(o.dilation()) +
         ", ceil_mode=" + py(o.ceil_mode());
}

// AvgPool1d stores _single(...) tuples; AvgPool2d/3d store what was passed.
template <size_t D, typename Impl>
std::string avg_pool_extra(const Impl& m) {
  const auto& o = m.options;
  auto show = [](const auto& a) { return D == 1 ? tuple_of(a) : int_or_tuple(a); };
  return "kernel_size=" + show(o.kernel_size()) + ", stride=" + show(o.stride()) + ", padding=" + show(o.padding());
}

std::string inplace_only(bool inplace) { return inplace ? "inplace=True" : ""; }

std::string upsample_extra(const nn::UpsampleImpl& m) {
  const auto& o = m.options;
  std::string s;
  if (o.scale_factor()) {
    const std::vector<double>& f = *o.scale_factor();
    s = "scale_factor=" + (f.size() == 1 ? py(f[0]) : py_tuple(f));
  } else if (o.size()) {
    const std::vector<int64_t>& v = *o.size();
    s = "size=" + (v.size() == 1 ? py(v[0]) : py_tuple(v));
  } else {
    s = "size=None";
  }
  return s + ", mode=" + enum_word(o.mode());  // torch 1.13 prints the mode without quotes
}

// ---- torchinfo's kernel column --------------------------------------------

// Conv modules store a tuple, which torchinfo prints as a list.
template <typename Impl>
std::string conv_kernel(const Impl& m) {
  return python_list(values(m.options.kernel_size()));
}

// Pooling modules keep kernel_size as the caller wrote it (an int or a
// tuple); LibTorch only keeps the expanded array. Every reference we mirror
// writes an int when all sides are equal (MaxPool2d(kernel_size=3)).
template <typename Impl>
std::string pool_kernel(const Impl& m) {
  const std::vector<int64_t> v = values(m.options.kernel_size());
  for (int64_t x : v)
    if (x != v[0]) return python_list(v);
  return py(v[0]);
}

// ---- the table: one entry per LibTorch module type ------------------------

struct Rule {
  std::string name;
  std::function<std::string(const nn::Module&)> extra;   // "" for no extra line
  std::function<std::string(const nn::Module&)> kernel;  // "" for no kernel_size attribute
  std::function<bool(const nn::Module&)> is_a;            // the module is this type or derives from it
};

using Table = std::vector<std::pair<std::type_index, Rule>>;

// The cast is dynamic because torch::nn::Module is a virtual base of Cloneable.
template <typename Impl>
void add(Table& table, const char* name, std::function<std::string(const Impl&)> extra = nullptr,
         std::function<std::string(const Impl&)> kernel = nullptr) {
  const auto as = [](const nn::Module& m) -> const Impl& { return dynamic_cast<const Impl&>(m); };
  table.emplace_back(std::type_index(typeid(Impl)),
                     Rule{name, [extra, as](const nn::Module& m) { return extra ? extra(as(m)) : std::string(); },
                          [kernel, as](const nn::Module& m) { return kernel ? kernel(as(m)) : std::string(); },
                          [](const nn::Module& m) { return dynamic_cast<const Impl*>(&m) != nullptr; }});
}

Table make_table() {
  Table t;
  add<nn::Conv1dImpl>(t, "Conv1d", conv_extra<1, nn::Conv1dImpl>, conv_kernel<nn::Conv1dImpl>);
  add<nn::Conv2dImpl>(t, "Conv2d", conv_extra<2, nn::Conv2dImpl>, conv_kernel<nn::Conv2dImpl>);
  add<nn::Conv3dImpl>(t, "Conv3d", conv_extra<3, nn::Conv3dImpl>, conv_kernel<nn::Conv3dImpl>);
  add<nn::ConvTranspose1dImpl>(t, "ConvTranspose1d", conv_extra<1, nn::ConvTranspose1dImpl>,
                                 conv_kernel<nn::ConvTranspose1dImpl>);
  add<nn::ConvTranspose2dImpl>(t, "ConvTranspose2d", conv_extra<2, nn::ConvTranspose2dImpl>,
                                 conv_kernel<nn::ConvTranspose2dImpl>);
  add<nn::ConvTranspose3dImpl>(t, "ConvTranspose3d", conv_extra<3, nn::ConvTranspose3dImpl>,
                                 conv_kernel<nn::ConvTranspose3dImpl>);

  add<nn::BatchNorm1dImpl>(t, "BatchNorm1d", [](const nn::BatchNorm1dImpl& m) { return norm_extra(m.options); });
  add<nn::BatchNorm2dImpl>(t, "BatchNorm2d", [](const nn::BatchNorm2dImpl& m) { return norm_extra(m.options); });
  add<nn::BatchNorm3dImpl>(t, "BatchNorm3d", [](const nn::BatchNorm3dImpl& m) { return norm_extra(m.options); });
  add<nn::InstanceNorm1dImpl>(t, "InstanceNorm1d", [](const nn::InstanceNorm1dImpl& m) { return norm_extra(m.options); });
  add<nn::InstanceNorm2dImpl>(t, "InstanceNorm2d", [](const nn::InstanceNorm2dImpl& m) { return norm_extra(m.options); });
  add<nn::InstanceNorm3dImpl>(t, "InstanceNorm3d", [](const nn::InstanceNorm3dImpl& m) { return norm_extra(m.options); });
  add<nn::GroupNormImpl>(t, "GroupNorm", [](const nn::GroupNormImpl& m) {
    const auto& o = m.options;
    return py(o.num_groups()) + ", " + py(o.num_channels()) + ", eps=" + py(o.eps()) + ", affine=" + py(o.affine());
  });
  add<nn::LayerNormImpl>(t, "LayerNorm", [](const nn::LayerNormImpl& m) {
    const auto& o = m.options;
    return py_tuple(o.normalized_shape()) + ", eps=" + py(o.eps()) +
           ", elementwise_affine=" + py(o.elementwise_affine());
  });

  add<nn::ReLUImpl>(t, "ReLU", [](const nn::ReLUImpl& m) { return inplace_only(m.options.inplace()); });
  add<nn::ReLU6Impl>(t, "ReLU6", [](const nn::ReLU6Impl& m) { return inplace_only(m.options.inplace()); });
  add<nn::LeakyReLUImpl>(t, "LeakyReLU", [](const nn::LeakyReLUImpl& m) {
    return "negative_slope=" + py(m.options.negative_slope()) + (m.options.inplace() ? ", inplace=True" : "");
  });
  add<nn::ELUImpl>(t, "ELU", [](const nn::ELUImpl& m) {
    return "alpha=" + py(m.options.alpha()) + (m.options.inplace() ? ", inplace=True" : "");
  });
  add<nn::GELUImpl>(t, "GELU", [](const nn::GELUImpl& m) { return "approximate='" + m.options.approximate() + "'"; });
  add<nn::SiLUImpl>(t, "SiLU");  // LibTorch's SiLU has no inplace flag; mmcv's ConvModule says it
  add<nn::SigmoidImpl>(t, "Sigmoid");
  add<nn::TanhImpl>(t, "Tanh");
  add<nn::SoftmaxImpl>(t, "Softmax", [](const nn::SoftmaxImpl& m) { return "dim=" + py(m.options.dim()); });

  add<nn::MaxPool1dImpl>(t, "MaxPool1d", max_pool_extra<nn::MaxPool1dImpl>, pool_kernel<nn::MaxPool1dImpl>);
  add<nn::MaxPool2dImpl>(t, "MaxPool2d", max_pool_extra<nn::MaxPool2dImpl>, pool_kernel<nn::MaxPool2dImpl>);
  add<nn::MaxPool3dImpl>(t, "MaxPool3d", max_pool_extra<nn::MaxPool3dImpl>, pool_kernel<nn::MaxPool3dImpl>);
  add<nn::AvgPool1dImpl>(t, "AvgPool1d", avg_pool_extra<1, nn::AvgPool1dImpl>, pool_kernel<nn::AvgPool1dImpl>);
  add<nn::AvgPool2dImpl>(t, "AvgPool2d", avg_pool_extra<2, nn::AvgPool2dImpl>, pool_kernel<nn::AvgPool2dImpl>);
  add<nn::AvgPool3dImpl>(t, "AvgPool3d", avg_pool_extra<3, nn::AvgPool3dImpl>, pool_kernel<nn::AvgPool3dImpl>);
  // Printed without their extra_repr; listed for torchinfo's kernel column.
  add<nn::MaxUnpool1dImpl>(t, "MaxUnpool1d", nullptr, pool_kernel<nn::MaxUnpool1dImpl>);
  add<nn::MaxUnpool2dImpl>(t, "MaxUnpool2d", nullptr, pool_kernel<nn::MaxUnpool2dImpl>);
  add<nn::MaxUnpool3dImpl>(t, "MaxUnpool3d", nullptr, pool_kernel<nn::MaxUnpool3dImpl>);
  add<nn::LPPool1dImpl>(t, "LPPool1d", nullptr, pool_kernel<nn::LPPool1dImpl>);
  add<nn::LPPool2dImpl>(t, "LPPool2d", nullptr, pool_kernel<nn::LPPool2dImpl>);
  add<nn::FractionalMaxPool2dImpl>(t, "FractionalMaxPool2d", nullptr, pool_kernel<nn::FractionalMaxPool2dImpl>);
  add<nn::FractionalMaxPool3dImpl>(t, "FractionalMaxPool3d", nullptr, pool_kernel<nn::FractionalMaxPool3dImpl>);
  add<nn::AdaptiveAvgPool1dImpl>(t, "AdaptiveAvgPool1d", [](const nn::AdaptiveAvgPool1dImpl& m) {
    return "output_size=" + output_size(m.options.output_size());
  });
  add<nn::AdaptiveAvgPool2dImpl>(t, "AdaptiveAvgPool2d", [](const nn::AdaptiveAvgPool2dImpl& m) {
    return "output_size=" + output_size(m.options.output_size());
  });
  add<nn::AdaptiveAvgPool3dImpl>(t, "AdaptiveAvgPool3d", [](const nn::AdaptiveAvgPool3dImpl& m) {
    return "output_size=" + output_size(m.options.output_size());
  });
  add<nn::AdaptiveMaxPool1dImpl>(t, "AdaptiveMaxPool1d", [](const nn::AdaptiveMaxPool1dImpl& m) {
    return "output_size=" + output_size(m.options.output_size());
  });
  add<nn::AdaptiveMaxPool2dImpl>(t, "AdaptiveMaxPool2d", [](const nn::AdaptiveMaxPool2dImpl& m) {
    return "output_size=" + output_size(m.options.output_size());
  });
  add<nn::AdaptiveMaxPool3dImpl>(t, "AdaptiveMaxPool3d", [](const nn::AdaptiveMaxPool3dImpl& m) {
    return "output_size=" + output_size(m.options.output_size());
  });

  add<nn::LinearImpl>(t, "Linear", [](const nn::LinearImpl& m) {
    const auto& o = m.options;
    return "in_features=" + py(o.in_features()) + ", out_features=" + py(o.out_features()) + ", bias=" + py(o.bias());
  });
  add<nn::IdentityImpl>(t, "Identity");
  add<nn::FlattenImpl>(t, "Flatten", [](const nn::FlattenImpl& m) {
    return "start_dim=" + py(m.options.start_dim()) + ", end_dim=" + py(m.options.end_dim());
  });
  add<nn::DropoutImpl>(t, "Dropout", [](const nn::DropoutImpl& m) {
    return "p=" + py(m.options.p()) + ", inplace=" + py(m.options.inplace());
  });
  add<nn::Dropout2dImpl>(t, "Dropout2d", [](const nn::Dropout2dImpl& m) {
    return "p=" + py(m.options.p()) + ", inplace=" + py(m.options.inplace());
  });
  add<nn::Dropout3dImpl>(t, "Dropout3d", [](const nn::Dropout3dImpl& m) {
    return "p=" + py(m.options.p()) + ", inplace=" + py(m.options.inplace());
  });
  add<nn::UpsampleImpl>(t, "Upsample", upsample_extra);

  add<nn::SequentialImpl>(t, "Sequential");
  add<nn::ModuleListImpl>(t, "ModuleList");
  add<nn::ModuleDictImpl>(t, "ModuleDict");
  return t;
}

// The rule of a module's exact type; else of the built-in type it derives from
// (reskit's convolutions are LibTorch's with another forward: the same Python
// class). Looked up once per type.
const Rule* rule_for(const nn::Module& module) {
  static const Table table = make_table();
  static std::mutex mutex;
  static std::unordered_map<std::type_index, const Rule*> found;
  const std::type_index type(typeid(module));
  std::lock_guard<std::mutex> lock(mutex);
  auto it = found.find(type);
  if (it != found.end()) return it->second;
  const Rule* rule = nullptr;
  for (const auto& [t, r] : table)
    if (t == type) rule = &r;
  for (size_t i = 0; !rule && i < table.size(); ++i)
    if (table[i].second.is_a(module)) rule = &table[i].second;
  return found[type] = rule;
}

}  // namespace

std::string python_class_name(const nn::Module& module) {
  if (const Rule* rule = rule_for(module)) return rule->name;
  // reskit's modules name themselves after the Python class; another type
  // prints its own: `torch::nn::FooImpl` or `ns::Foo<...>` -> `Foo`.
  std::string name = module.name();
  name = name.substr(0, name.find('<'));
  const size_t colon = name.rfind("::");
  if (colon != std::string::npos) name = name.substr(colon + 2);
  if (name.size() > 4 && name.compare(name.size() - 4, 4, "Impl") == 0) name.resize(name.size() - 4);
  return name;
}

std::string python_extra_repr(const nn::Module& module, const nn::Module* parent) {
  if (const auto* hooks = dynamic_cast<const PythonHooks*>(parent))
    if (std::optional<std::string> extra = hooks->python_child_extra_repr(module)) return *extra;
  if (const auto* hooks = dynamic_cast<const PythonHooks*>(&module)) return hooks->python_extra_repr();
  const Rule* rule = rule_for(module);
  return rule ? rule->extra(module) : "";
}

std::string python_kernel_size(const nn::Module& module) {
  if (const auto* hooks = dynamic_cast<const PythonHooks*>(&module)) return hooks->python_kernel_size();
  const Rule* rule = rule_for(module);
  return rule ? rule->kernel(module) : "";
}

}  // namespace reskit::tasks
