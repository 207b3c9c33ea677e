#pragma once
// Model options at the edge: the specs (name, type, default, doc) that a
// model's options struct declares (core/option_fields.h), and the values
// that --set, JSON configs and sidecars give, parsed against them. Builders
// never read these by key: they receive the typed struct.
#include <cstdint>
#include <map>
#include <string>
#include <variant>
#include <vector>

namespace reskit {

enum class OptionType { kInt, kFloat, kBool, kString, kIntList, kIntListList };

using IntList = std::vector<int64_t>;
using IntListList = std::vector<IntList>;
using OptionValue = std::variant<int64_t, double, bool, std::string, IntList, IntListList>;

struct OptionSpec {
  std::string name;
  OptionType type;
  OptionValue default_value;
  std::string doc;
  std::vector<std::string> choices = {};  // for kString: the accepted words (empty: any)
};

const char* type_name(OptionType type);
std::string format_value(const OptionValue& value);

// Parses the command-line spelling of a value: `1,0,1`, `1,1,1/1,0,1,0`, `true`.
// `owner` (the model name) and the option name appear in the error message.
OptionValue parse_value(const OptionSpec& spec, const std::string& text, const std::string& owner);

// The resolved options of one model: every declared option has a value.
class Options {
 public:
  Options() = default;
  Options(std::string owner, const std::vector<OptionSpec>& specs);

  // `KEY=VALUE` as given to --set.
  void set_from_assignment(const std::string& assignment);
  void set_from_text(const std::string& key, const std::string& text);
  void set(const std::string& key, OptionValue value);

  // Options that differ from their defaults, in declaration order.
  std::vector<std::pair<std::string, OptionValue>> non_default() const;
  const std::vector<OptionSpec>& specs() const { return specs_; }
  const std::map<std::string, OptionValue>& values() const { return values_; }
  const std::string& owner() const { return owner_; }

 private:
  const OptionSpec& spec(const std::string& key) const;

  std::string owner_;
  std::vector<OptionSpec> specs_;
  std::map<std::string, OptionValue> values_;
};

}  // namespace reskit
