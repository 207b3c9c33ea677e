#pragma once
// Options written once. A model's options struct lists each option on one
// line of a macro, type, name, default and doc (models/video/resnet3d.h):
//
//   struct ResNet3dOptions {
//   #define RESKIT_FIELDS(X)  [one line per option, each but the last ending in a backslash]
//     X(int64_t, depth, 50, "18, 34, 50, 101 or 152")
//     X(IntList, out_indices, (IntList{3}), "stages returned")
//     RESKIT_OPTIONS(RESKIT_FIELDS)
//   #undef RESKIT_FIELDS
//   };
//
// Each line becomes a TORCH_ARG-style member (`o.depth()`, `o.depth(101)`)
// and an entry of visit_options(), from which come the registry's option
// specs (so `--set`, JSON configs, sidecars and `reskit models`) and the
// struct the builder receives: a misspelt option is a compile error, and a
// default lives in one place. Variants (i3d_r50's backbone) are presets:
// instances with other values, whose values become the defaults shown.
//
// Field types: int64_t, double, bool, std::string, IntList, IntListList,
// std::vector<bool> (as 0/1 flags), enums with reskit_enum_names(), and
// other options structs, whose options are nested under `name.`.
#include <torch/arg.h>

#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "reskit/core/error.h"
#include "reskit/core/options.h"

#define RESKIT_OPTION_MEMBER_(T, name, default_value, doc) TORCH_ARG(T, name) = default_value;
#define RESKIT_OPTION_VISIT_(T, name, default_value, doc) visitor(#name, this->name##_, doc);

#define RESKIT_OPTIONS(FIELDS)                               \
  FIELDS(RESKIT_OPTION_MEMBER_)                              \
 public:                                                     \
  template <typename Visitor>                                \
  void visit_options(Visitor& visitor) {                     \
    FIELDS(RESKIT_OPTION_VISIT_)                             \
  }                                                          \
  template <typename Visitor>                                \
  void visit_options(Visitor& visitor) const {               \
    FIELDS(RESKIT_OPTION_VISIT_)                             \
  }

// The same for a struct that adds options to a base options struct; the
// base's come first.
#define RESKIT_OPTIONS_EXTENDING(Base, FIELDS)               \
  FIELDS(RESKIT_OPTION_MEMBER_)                              \
 public:                                                     \
  template <typename Visitor>                                \
  void visit_options(Visitor& visitor) {                     \
    Base::visit_options(visitor);                            \
    FIELDS(RESKIT_OPTION_VISIT_)                             \
  }                                                          \
  template <typename Visitor>                                \
  void visit_options(Visitor& visitor) const {               \
    Base::visit_options(visitor);                            \
    FIELDS(RESKIT_OPTION_VISIT_)                             \
  }

namespace reskit {
namespace option_fields {

struct Probe {
  template <typename T>
  void operator()(const char*, const T&, const char*) {}
};

template <typename T, typename = void>
struct is_options_struct : std::false_type {};
template <typename T>
struct is_options_struct<T, std::void_t<decltype(std::declval<const T&>().visit_options(std::declval<Probe&>()))>>
    : std::true_type {};

// An enum field's words: `reskit_enum_names(E{})`, found by ADL beside the
// enum, returns {{E::kA, "a"}, ...}; the first word is the enum's name in docs.
template <typename E>
std::vector<std::string> enum_words() {
  std::vector<std::string> words;
  for (const auto& [value, word] : reskit_enum_names(E{})) words.emplace_back(word);
  return words;
}

[[noreturn]] inline void bad_flag(const std::string& owner, const std::string& name, int64_t value) {
  throw Error(owner + ": option '" + name + "' takes 0 or 1 per entry, got " + std::to_string(value));
}

// One field type's spelling in OptionSpec / OptionValue.
template <typename T, typename = void>
struct Field;

template <typename T>
struct PlainField {
  static OptionValue to_value(const T& v) { return v; }
  static T from_value(const OptionValue& v, const std::string&, const std::string&) { return std::get<T>(v); }
  static std::vector<std::string> choices() { return {}; }
};
template <>
struct Field<int64_t> : PlainField<int64_t> {
  static constexpr OptionType kType = OptionType::kInt;
};
template <>
struct Field<double> : PlainField<double> {
  static constexpr OptionType kType = OptionType::kFloat;
};
template <>
struct Field<bool> : PlainField<bool> {
  static constexpr OptionType kType = OptionType::kBool;
};
template <>
struct Field<std::string> : PlainField<std::string> {
  static constexpr OptionType kType = OptionType::kString;
};
template <>
struct Field<IntList> : PlainField<IntList> {
  static constexpr OptionType kType = OptionType::kIntList;
};
template <>
struct Field<IntListList> : PlainField<IntListList> {
  static constexpr OptionType kType = OptionType::kIntListList;
};
template <>
struct Field<std::vector<bool>> {
  static constexpr OptionType kType = OptionType::kIntList;
  static OptionValue to_value(const std::vector<bool>& v) { return IntList(v.begin(), v.end()); }
  static std::vector<bool> from_value(const OptionValue& v, const std::string& owner, const std::string& name) {
    std::vector<bool> flags;
    for (int64_t x : std::get<IntList>(v)) {
      if (x != 0 && x != 1) bad_flag(owner, name, x);
      flags.push_back(x == 1);
    }
    return flags;
  }
  static std::vector<std::string> choices() { return {}; }
};
template <typename E>
struct Field<E, std::enable_if_t<std::is_enum_v<E>>> {
  static constexpr OptionType kType = OptionType::kString;
  static OptionValue to_value(E value) {
    for (const auto& [v, word] : reskit_enum_names(E{}))
      if (v == value) return std::string(word);
    throw Error("an enum value without a name");  // a reskit_enum_names() that misses a value
  }
  static E from_value(const OptionValue& value, const std::string&, const std::string&) {
    const std::string& text = std::get<std::string>(value);  // already one of choices()
    for (const auto& [v, word] : reskit_enum_names(E{}))
      if (text == word) return v;
    throw Error("unknown enum word '" + text + "'");
  }
  static std::vector<std::string> choices() { return enum_words<E>(); }
};

class SpecCollector {
 public:
  explicit SpecCollector(std::vector<OptionSpec>& specs, std::string prefix = "")
      : specs_(specs), prefix_(std::move(prefix)) {}
  template <typename T>
  void operator()(const char* name, const T& value, const char* doc) {
    if constexpr (is_options_struct<T>::value) {
      SpecCollector nested(specs_, prefix_ + name + ".");
      value.visit_options(nested);
    } else {
      specs_.push_back({prefix_ + name, Field<T>::kType, Field<T>::to_value(value), doc, Field<T>::choices()});
    }
  }

 private:
  std::vector<OptionSpec>& specs_;
  std::string prefix_;
};

class ValueReader {
 public:
  ValueReader(const Options& options, std::string prefix = "") : options_(options), prefix_(std::move(prefix)) {}
  template <typename T>
  void operator()(const char* name, T& field, const char*) {
    if constexpr (is_options_struct<T>::value) {
      ValueReader nested(options_, prefix_ + name + ".");
      field.visit_options(nested);
    } else {
      const std::string key = prefix_ + name;
      field = Field<T>::from_value(options_.values().at(key), options_.owner(), key);
    }
  }

 private:
  const Options& options_;
  std::string prefix_;
};

}  // namespace option_fields

// The specs of an options struct, its current values as the defaults.
template <typename Struct>
std::vector<OptionSpec> option_specs(const Struct& preset) {
  std::vector<OptionSpec> specs;
  option_fields::SpecCollector collect(specs);
  preset.visit_options(collect);
  return specs;
}

// Copies resolved values (made from option_specs of the same struct type) into it.
template <typename Struct>
void read_options(const Options& options, Struct& out) {
  option_fields::ValueReader read(options);
  out.visit_options(read);
}

}  // namespace reskit
