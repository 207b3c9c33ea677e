#pragma once
// A YAML file (or JSON, which YAML reads too) as a JSON tree, for settings
// written in the Python projects' config.yaml style. Plain scalars become
// numbers, booleans (true/false/True/False) or null where they read as
// such; quoted ones stay strings.
#include <nlohmann/json.hpp>

#include <string>

namespace reskit::io {

// At most 1 MiB; an unreadable, oversized or malformed file is a one-line
// error naming it (and the line, for a syntax error).
nlohmann::json read_yaml_tree(const std::string& path);
// The same for text in memory; `source` names it in errors.
nlohmann::json parse_yaml_tree(const std::string& text, const std::string& source);

}  // namespace reskit::io
