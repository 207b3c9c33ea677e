#include "reskit/core/options.h"

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <sstream>

#include "reskit/core/error.h"

namespace reskit {
namespace {

std::vector<std::string> split(const std::string& text, char sep) {
  std::vector<std::string> parts;
  std::string part;
  std::istringstream in(text);
  while (std::getline(in, part, sep)) parts.push_back(part);
  if (!text.empty() && text.back() == sep) parts.emplace_back();
  return parts;
}

[[noreturn]] void bad_value(const OptionSpec& spec, const std::string& text, const std::string& owner,
                            const std::string& expected) {
  throw Error(owner + ": option '" + spec.name + "' expects " + expected + ", got '" + text + "'");
}

bool parse_int(const std::string& text, int64_t* out) {
  if (text.empty()) return false;
  char* end = nullptr;
  errno = 0;
  long long v = std::strtoll(text.c_str(), &end, 10);
  if (errno != 0 || end != text.c_str() + text.size()) return false;
  *out = v;
  return true;
}

// Well-formed UTF-8: no stray continuation bytes, no overlong or surrogate
// forms, nothing above U+10FFFF.
bool valid_utf8(const std::string& text) {
  static constexpr uint32_t kSmallest[] = {0, 0x80, 0x800, 0x10000};  // by continuation bytes
  const auto* s = reinterpret_cast<const unsigned char*>(text.data());
  for (size_t i = 0; i < text.size();) {
    const unsigned char lead = s[i];
    size_t extra = 0;
    uint32_t code = lead;
    if (lead >= 0x80) {
      if ((lead & 0xE0) == 0xC0) {
        extra = 1;
        code = lead & 0x1F;
      } else if ((lead & 0xF0) == 0xE0) {
        extra = 2;
        code = lead & 0x0F;
      } else if ((lead & 0xF8) == 0xF0) {
        extra = 3;
        code = lead & 0x07;
      } else {
        return false;
      }
    }
    if (i + extra >= text.size() && extra > 0) return false;
    for (size_t k = 1; k <= extra; ++k) {
      if ((s[i + k] & 0xC0) != 0x80) return false;
      code = (code << 6) | (s[i + k] & 0x3F);
    }
    if (code < kSmallest[extra] || code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF)) return false;
    i += extra + 1;
  }
  return true;
}

IntList parse_int_list(const OptionSpec& spec, const std::string& text, const std::string& owner) {
  IntList values;
  for (const std::string& item : split(text, ',')) {
    int64_t v = 0;
    if (!parse_int(item, &v)) bad_value(spec, text, owner, "a comma-separated list of integers");
    values.push_back(v);
  }
  if (values.empty()) bad_value(spec, text, owner, "a comma-separated list of integers");
  return values;
}

}  // namespace

const char* type_name(OptionType type) {
  switch (type) {
    case OptionType::kInt: return "int";
    case OptionType::kFloat: return "float";
    case OptionType::kBool: return "bool";
    case OptionType::kString: return "string";
    case OptionType::kIntList: return "int list";
    case OptionType::kIntListList: return "int list list";
  }
  return "?";
}

std::string format_value(const OptionValue& value) {
  struct Visitor {
    std::string operator()(int64_t v) const { return std::to_string(v); }
    std::string operator()(double v) const {
      std::ostringstream s;
      s << v;
      return s.str();
    }
    std::string operator()(bool v) const { return v ? "true" : "false"; }
    std::string operator()(const std::string& v) const { return v; }
    std::string operator()(const IntList& v) const {
      std::string s;
      for (size_t i = 0; i < v.size(); ++i) s += (i ? "," : "") + std::to_string(v[i]);
      return s;
    }
    std::string operator()(const IntListList& v) const {
      std::string s;
      for (size_t i = 0; i < v.size(); ++i) s += (i ? "/" : "") + (*this)(v[i]);
      return s;
    }
  };
  return std::visit(Visitor{}, value);
}

OptionValue parse_value(const OptionSpec& spec, const std::string& text, const std::string& owner) {
  switch (spec.type) {
    case OptionType::kInt: {
      int64_t v = 0;
      if (!parse_int(text, &v)) bad_value(spec, text, owner, "an integer");
      return v;
    }
    case OptionType::kFloat: {
      char* end = nullptr;
      errno = 0;
      double v = std::strtod(text.c_str(), &end);
      if (text.empty() || errno != 0 || end != text.c_str() + text.size())
        bad_value(spec, text, owner, "a number");
      return v;
    }
    case OptionType::kBool:
      if (text == "true" || text == "1") return true;
      if (text == "false" || text == "0") return false;
      bad_value(spec, text, owner, "true or false");
    case OptionType::kString:
      // Options end up in JSON (sidecars, `reskit models`), which holds UTF-8 only.
      if (!valid_utf8(text)) bad_value(spec, "(not UTF-8)", owner, "UTF-8 text");
      if (!spec.choices.empty() &&
          std::find(spec.choices.begin(), spec.choices.end(), text) == spec.choices.end()) {
        std::string words;
        for (const auto& c : spec.choices) words += (words.empty() ? "" : "|") + c;
        bad_value(spec, text, owner, "one of " + words);
      }
      return text;
    case OptionType::kIntList:
      return parse_int_list(spec, text, owner);
    case OptionType::kIntListList: {
      IntListList groups;
      for (const std::string& group : split(text, '/')) groups.push_back(parse_int_list(spec, group, owner));
      return groups;
    }
  }
  throw Error(owner + ": option '" + spec.name + "' has an unknown type");
}

Options::Options(std::string owner, const std::vector<OptionSpec>& specs)
    : owner_(std::move(owner)), specs_(specs) {
  for (const OptionSpec& s : specs_) values_[s.name] = s.default_value;
}

const OptionSpec& Options::spec(const std::string& key) const {
  for (const OptionSpec& s : specs_)
    if (s.name == key) return s;
  std::string known;
  for (const OptionSpec& s : specs_) known += (known.empty() ? "" : ", ") + s.name;
  throw Error(owner_ + ": unknown option '" + key + "'" +
              (known.empty() ? " (it takes no options)" : " (options: " + known + ")"));
}

void Options::set_from_assignment(const std::string& assignment) {
  auto eq = assignment.find('=');
  if (eq == std::string::npos || eq == 0)
    throw Error(owner_ + ": --set expects KEY=VALUE, got '" + assignment + "'");
  set_from_text(assignment.substr(0, eq), assignment.substr(eq + 1));
}

void Options::set_from_text(const std::string& key, const std::string& text) {
  values_[key] = parse_value(spec(key), text, owner_);
}

void Options::set(const std::string& key, OptionValue value) {
  const OptionSpec& s = spec(key);
  if (value.index() != s.default_value.index())
    throw Error(owner_ + ": option '" + key + "' expects " + type_name(s.type) + ", got '" +
                format_value(value) + "'");
  values_[key] = std::move(value);
}

std::vector<std::pair<std::string, OptionValue>> Options::non_default() const {
  std::vector<std::pair<std::string, OptionValue>> out;
  for (const OptionSpec& s : specs_)
    if (values_.at(s.name) != s.default_value) out.emplace_back(s.name, values_.at(s.name));
  return out;
}

}  // namespace reskit
