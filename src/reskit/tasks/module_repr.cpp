#include "reskit/tasks/module_repr.h"

#include <vector>

#include "reskit/tasks/python_view.h"

namespace reskit::tasks {
namespace {

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
std::string repr(const torch::nn::Module& module, const torch::nn::Module* parent) {
  const std::vector<std::string> extra_lines = split_lines(python_extra_repr(module, parent));
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

std::string python_repr(const torch::nn::Module& module) { return repr(module, nullptr); }

}  // namespace reskit::tasks
