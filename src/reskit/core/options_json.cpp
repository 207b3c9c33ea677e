#include "reskit/core/options_json.h"

#include <nlohmann/json.hpp>

#include "reskit/core/error.h"

namespace reskit {
namespace {

using nlohmann::json;

json to_json(const OptionValue& value) {
  struct Visitor {
    json operator()(int64_t v) const { return v; }
    json operator()(double v) const { return v; }
    json operator()(bool v) const { return v; }
    json operator()(const std::string& v) const { return v; }
    json operator()(const IntList& v) const { return v; }
    json operator()(const IntListList& v) const { return v; }
  };
  return std::visit(Visitor{}, value);
}

[[noreturn]] void bad(const OptionSpec& spec, const json& j, const std::string& source) {
  throw Error(source + ": option '" + spec.name + "' expects " + type_name(spec.type) + ", got " + j.dump());
}

IntList int_list(const OptionSpec& spec, const json& j, const std::string& source) {
  if (!j.is_array() || j.empty()) bad(spec, j, source);
  IntList out;
  for (const json& item : j) {
    if (!item.is_number_integer()) bad(spec, j, source);
    out.push_back(item.get<int64_t>());
  }
  return out;
}

OptionValue from_json(const OptionSpec& spec, const json& j, const std::string& source, const std::string& owner) {
  switch (spec.type) {
    case OptionType::kInt:
      if (!j.is_number_integer()) bad(spec, j, source);
      return j.get<int64_t>();
    case OptionType::kFloat:
      if (!j.is_number()) bad(spec, j, source);
      return j.get<double>();
    case OptionType::kBool:
      if (!j.is_boolean()) bad(spec, j, source);
      return j.get<bool>();
    case OptionType::kString:
      if (!j.is_string()) bad(spec, j, source);
      return parse_value(spec, j.get<std::string>(), owner);
    case OptionType::kIntList:
      return int_list(spec, j, source);
    case OptionType::kIntListList: {
      if (!j.is_array() || j.empty()) bad(spec, j, source);
      IntListList out;
      for (const json& group : j) out.push_back(int_list(spec, group, source));
      return out;
    }
  }
  bad(spec, j, source);
}

json parse(const std::string& text, const std::string& source) {
  try {
    return json::parse(text);
  } catch (const json::exception& e) {
    std::string what = e.what();
    throw Error(source + ": malformed JSON (" + what.substr(what.find(']') + 2) + ")");
  }
}

// Keys are option names; an object under a key that is not one holds the
// options nested under `key.` ({"backbone": {"depth": 101}}).
void apply_object(Options& options, const json& object, const std::string& prefix, const std::string& source) {
  for (const auto& [key, value] : object.items()) {
    const std::string name = prefix + key;
    const OptionSpec* spec = nullptr;
    for (const OptionSpec& s : options.specs())
      if (s.name == name) spec = &s;
    if (!spec && value.is_object()) {
      apply_object(options, value, name + ".", source);
      continue;
    }
    if (!spec) options.set_from_text(name, "");  // throws the registry's unknown-option error
    options.set(name, from_json(*spec, value, source, options.owner()));
  }
}

}  // namespace

std::string options_to_json(const Options& options, bool only_non_default) {
  json out = json::object();
  if (only_non_default) {
    for (const auto& [key, value] : options.non_default()) out[key] = to_json(value);
  } else {
    for (const OptionSpec& s : options.specs()) out[s.name] = to_json(options.values().at(s.name));
  }
  return out.dump();
}


void apply_json_options(Options& options, const std::string& json_text, const std::string& source) {
  json doc = parse(json_text, source);
  if (!doc.is_object()) throw Error(source + ": expected a JSON object of options");
  if (doc.contains("options")) doc = doc["options"];
  if (!doc.is_object()) throw Error(source + ": 'options' must be a JSON object");
  apply_object(options, doc, "", source);
}

std::string model_name_from_json(const std::string& json_text, const std::string& source) {
  json doc = parse(json_text, source);
  if (doc.is_object() && doc.contains("model") && doc["model"].is_string()) return doc["model"].get<std::string>();
  return "";
}

std::string option_specs_to_json(const std::vector<OptionSpec>& specs) {
  json out = json::array();
  for (const OptionSpec& s : specs) {
    json o = {{"name", s.name}, {"type", type_name(s.type)}, {"default", to_json(s.default_value)}, {"doc", s.doc}};
    if (!s.choices.empty()) o["choices"] = s.choices;
    out.push_back(o);
  }
  return out.dump();
}

}  // namespace reskit
