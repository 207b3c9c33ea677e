#include "reskit/tasks/module_repr.h"

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
#include <charconv>
#include <cmath>
#include <functional>
#include <typeindex>
#include <unordered_map>
#include <variant>
#include <vector>

#include "reskit/layers/conv_module.h"
#include "reskit/models/video/resnet3d.h"

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

// ---- the table: one entry per LibTorch module type ------------------------

struct Rule {
  std::string name;
  std::function<std::string(const nn::Module&)> extra;  // empty result: no extra line
};

using Table = std::unordered_map<std::type_index, Rule>;

// Keyed by the exact dynamic type: a subclass is another Python class. The
// cast is dynamic because torch::nn::Module is a virtual base of Cloneable.
template <typename Impl>
void add(Table& table, const char* name, std::function<std::string(const Impl&)> extra = nullptr) {
  table[std::type_index(typeid(Impl))] =
      Rule{name, [extra](const nn::Module& m) { return extra ? extra(dynamic_cast<const Impl&>(m)) : std::string(); }};
}

Table make_table() {
  Table t;
  add<nn::Conv1dImpl>(t, "Conv1d", conv_extra<1, nn::Conv1dImpl>);
  add<nn::Conv2dImpl>(t, "Conv2d", conv_extra<2, nn::Conv2dImpl>);
  add<nn::Conv3dImpl>(t, "Conv3d", conv_extra<3, nn::Conv3dImpl>);
  add<nn::ConvTranspose1dImpl>(t, "ConvTranspose1d", conv_extra<1, nn::ConvTranspose1dImpl>);
  add<nn::ConvTranspose2dImpl>(t, "ConvTranspose2d", conv_extra<2, nn::ConvTranspose2dImpl>);
  add<nn::ConvTranspose3dImpl>(t, "ConvTranspose3d", conv_extra<3, nn::ConvTranspose3dImpl>);

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
  add<nn::SiLUImpl>(t, "SiLU");  // LibTorch's SiLU has no inplace flag; see the ConvModule context below
  add<nn::SigmoidImpl>(t, "Sigmoid");
  add<nn::TanhImpl>(t, "Tanh");
  add<nn::SoftmaxImpl>(t, "Softmax", [](const nn::SoftmaxImpl& m) { return "dim=" + py(m.options.dim()); });

  add<nn::MaxPool1dImpl>(t, "MaxPool1d", max_pool_extra<nn::MaxPool1dImpl>);
  add<nn::MaxPool2dImpl>(t, "MaxPool2d", max_pool_extra<nn::MaxPool2dImpl>);
  add<nn::MaxPool3dImpl>(t, "MaxPool3d", max_pool_extra<nn::MaxPool3dImpl>);
  add<nn::AvgPool1dImpl>(t, "AvgPool1d", avg_pool_extra<1, nn::AvgPool1dImpl>);
  add<nn::AvgPool2dImpl>(t, "AvgPool2d", avg_pool_extra<2, nn::AvgPool2dImpl>);
  add<nn::AvgPool3dImpl>(t, "AvgPool3d", avg_pool_extra<3, nn::AvgPool3dImpl>);
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

const Rule* rule_for(const nn::Module& module) {
  static const Table table = make_table();
  auto it = table.find(std::type_index(typeid(module)));
  return it == table.end() ? nullptr : &it->second;
}

// Where the Python module has state LibTorch's does not, the parent knows it:
// mmcv's ConvModule builds its SiLU with inplace=True (its act_cfg default);
// mmaction2's ResNet3d gives its stem pool tuples, printed even when uniform.
std::string context_extra(const nn::Module& module, const nn::Module* parent) {
  const auto* conv_module = dynamic_cast<const layers::ConvModuleImpl*>(parent);
  if (conv_module && conv_module->activate().get() == &module && dynamic_cast<const nn::SiLUImpl*>(&module))
    return inplace_only(conv_module->options().act().inplace);
  const auto* resnet3d = dynamic_cast<const models::ResNet3dImpl*>(parent);
  if (resnet3d && resnet3d->maxpool.get() == &module) {
    const auto& o = resnet3d->maxpool->options;
    return "kernel_size=" + tuple_of(o.kernel_size()) + ", stride=" + tuple_of(o.stride()) +
           ", padding=" + tuple_of(o.padding()) + ", dilation=" + int_or_tuple(o.dilation()) +
           ", ceil_mode=" + py(o.ceil_mode());
  }
  return "";
}

// torch.nn.modules.module._addindent
std::string add_indent(const std::string& text, int spaces) {
  if (text.find('\n') == std::string::npos) return text;
  std::string out;
  const std::string pad(spaces, ' ');
  for (char c : text) {
    out += c;
    if (c == '\n') out += pad;
  }
  return out;
}

std::vector<std::string> split_lines(const std::string& text) {
  std::vector<std::string> lines;
  if (text.empty()) return lines;
  size_t start = 0;
  for (size_t end; (end = text.find('\n', start)) != std::string::npos; start = end + 1)
    lines.push_back(text.substr(start, end - start));
  lines.push_back(text.substr(start));
  return lines;
}

// torch.nn.Module.__repr__
std::string repr(const nn::Module& module, const nn::Module* parent) {
  const Rule* rule = rule_for(module);
  std::string extra = context_extra(module, parent);
  if (extra.empty() && rule) extra = rule->extra(module);
  const std::vector<std::string> extra_lines = split_lines(extra);
  std::vector<std::string> child_lines;
  for (const auto& child : module.named_children())
    child_lines.push_back("(" + child.key() + "): " + add_indent(repr(*child.value(), &module), 2));

  std::string out = python_class_name(module) + "(";
  if (extra_lines.size() == 1 && child_lines.empty()) {
    out += extra_lines[0];  // the one-liner most built-in modules use
  } else if (!extra_lines.empty() || !child_lines.empty()) {
    for (const std::string& line : extra_lines) out += "\n  " + line;
    for (const std::string& line : child_lines) out += "\n  " + line;
    out += "\n";
  }
  return out + ")";
}

}  // namespace

std::string python_float_repr(double value) {
  if (std::isnan(value)) return "nan";
  if (std::isinf(value)) return value < 0 ? "-inf" : "inf";
  // Shortest round-trip digits, as Python's repr (David Gay's mode 0) picks them.
  char buf[64];
  const auto result = std::to_chars(buf, buf + sizeof buf, value, std::chars_format::scientific);
  const std::string sci(buf, result.ptr);  // "-1.2345e-05"
  const size_t e = sci.find('e');
  std::string mantissa = sci.substr(0, e);
  const int exponent = std::stoi(sci.substr(e + 1));
  std::string sign;
  if (mantissa[0] == '-') {
    sign = "-";
    mantissa = mantissa.substr(1);
  }
  std::string digits;
  for (char c : mantissa)
    if (c != '.') digits += c;
  const int ndigits = static_cast<int>(digits.size());

  // float_repr_style 'short': scientific when the exponent is < -4 or >= 16.
  if (exponent < -4 || exponent >= 16) {
    std::string s = sign + digits.substr(0, 1);
    if (ndigits > 1) s += "." + digits.substr(1);
    const int magnitude = std::abs(exponent);
    return s + "e" + (exponent < 0 ? "-" : "+") + (magnitude < 10 ? "0" : "") + std::to_string(magnitude);
  }
  const int point = exponent + 1;  // digits before the decimal point
  if (point <= 0) return sign + "0." + std::string(-point, '0') + digits;
  if (point >= ndigits) return sign + digits + std::string(point - ndigits, '0') + ".0";
  return sign + digits.substr(0, point) + "." + digits.substr(point);
}

std::string python_class_name(const torch::nn::Module& module) {
  if (const Rule* rule = rule_for(module)) return rule->name;
  // reskit's modules name themselves after the Python class. A LibTorch type
  // not in the table still prints its class: `torch::nn::FooImpl` -> `Foo`.
  std::string name = module.name();
  const std::string prefix = "torch::nn::";
  if (name.rfind(prefix, 0) == 0) {
    name = name.substr(prefix.size());
    if (name.size() > 4 && name.compare(name.size() - 4, 4, "Impl") == 0) name.resize(name.size() - 4);
  }
  return name;
}

std::string python_repr(const torch::nn::Module& module) { return repr(module, nullptr); }

}  // namespace reskit::tasks
