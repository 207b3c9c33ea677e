#include "reskit/io/yaml_tree.h"

#include <yaml-cpp/yaml.h>

#include <charconv>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "reskit/core/error.h"

namespace reskit::io {
namespace {

constexpr std::uintmax_t kMaxBytes = 1u << 20;
constexpr int kMaxDepth = 64;  // bounds the recursion on hostile nesting

nlohmann::json plain_scalar(const std::string& s) {
  if (s == "true" || s == "True" || s == "TRUE") return true;
  if (s == "false" || s == "False" || s == "FALSE") return false;
  if (s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL") return nullptr;
  int64_t i = 0;
  const char* end = s.data() + s.size();
  if (auto r = std::from_chars(s.data(), end, i); r.ec == std::errc() && r.ptr == end) return i;
  // What the official code ends with after yacs's literal_eval: 1e-3 and .5 are numbers too.
  std::istringstream in(s);
  in.imbue(std::locale::classic());
  double d = 0;
  if (in >> d && in.peek() == std::char_traits<char>::eof()) return d;
  return s;
}

// `budget` counts the nodes left to emit: aliases share nodes, so a small
// file could otherwise expand into an enormous tree.
nlohmann::json convert(const YAML::Node& node, int depth, size_t& budget, const std::string& path) {
  if (depth > kMaxDepth) throw Error("'" + path + "' nests deeper than " + std::to_string(kMaxDepth) + " levels");
  if (budget == 0) throw Error("'" + path + "' expands to more values than its text holds (aliases of aliases)");
  --budget;
  switch (node.Type()) {
    case YAML::NodeType::Null:
    case YAML::NodeType::Undefined:
      return nullptr;
    case YAML::NodeType::Scalar:
      return node.Tag() == "!" ? nlohmann::json(node.Scalar()) : plain_scalar(node.Scalar());
    case YAML::NodeType::Sequence: {
      nlohmann::json out = nlohmann::json::array();
      for (const YAML::Node& item : node) out.push_back(convert(item, depth + 1, budget, path));
      return out;
    }
    case YAML::NodeType::Map: {
      nlohmann::json out = nlohmann::json::object();
      for (const auto& kv : node) out[kv.first.as<std::string>()] = convert(kv.second, depth + 1, budget, path);
      return out;
    }
  }
  return nullptr;
}

}  // namespace

nlohmann::json read_yaml_tree(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) throw Error("'" + path + "' does not exist or is not a file");
  if (std::filesystem::file_size(path, ec) > kMaxBytes) throw Error("'" + path + "' is larger than 1 MiB: not a settings file");
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  if (!in) throw Error("cannot read '" + path + "'");
  return parse_yaml_tree(text.str(), path);
}

nlohmann::json parse_yaml_tree(const std::string& text, const std::string& source) {
  if (text.size() > kMaxBytes) throw Error("'" + source + "' is larger than 1 MiB: not a settings file");
  try {
    size_t budget = text.size() + 1;  // a node takes at least a byte of text, unless it is an alias
    return convert(YAML::Load(text), 0, budget, source);
  } catch (const YAML::Exception& e) {
    throw Error("'" + source + "' is not valid YAML: line " + std::to_string(e.mark.line + 1) + ": " + e.msg);
  }
}

}  // namespace reskit::io
