#include "cli_args.h"

#include <algorithm>
#include <cmath>
#include <sstream>

#include "reskit/core/error.h"

namespace reskit::cli {

std::string ParsedArgs::get(const std::string& flag, const std::string& fallback) const {
  auto it = values.find(flag);
  return it == values.end() || it->second.empty() ? fallback : it->second.back();
}

std::vector<std::string> ParsedArgs::all(const std::string& flag) const {
  auto it = values.find(flag);
  return it == values.end() ? std::vector<std::string>{} : it->second;
}

namespace {

// The flag's whole text as a number, or one error line saying what it expects.
template <typename T, typename Parse>
T parse_flag(const std::string& flag, const std::string& text, const char* expected, Parse parse) {
  size_t used = 0;
  T v{};
  try {
    v = parse(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (text.empty() || used != text.size() || !std::isfinite(static_cast<double>(v)))
    throw Error("--" + flag + " expects " + expected + ", got '" + text + "'");
  return v;
}

}  // namespace

int64_t ParsedArgs::get_int(const std::string& flag, int64_t fallback) const {
  if (!has(flag)) return fallback;
  return parse_flag<int64_t>(flag, get(flag), "an integer",
                             [](const std::string& t, size_t* used) { return std::stoll(t, used); });
}

double ParsedArgs::get_double(const std::string& flag, double fallback) const {
  if (!has(flag)) return fallback;
  return parse_flag<double>(flag, get(flag), "a number",
                            [](const std::string& t, size_t* used) { return std::stod(t, used); });
}

Command::Command(std::string name, std::string usage, std::string summary, std::vector<FlagSpec> flags)
    : name_(std::move(name)), usage_(std::move(usage)), summary_(std::move(summary)), flags_(std::move(flags)) {}

ParsedArgs Command::parse(const std::vector<std::string>& args, size_t max_positional) const {
  ParsedArgs parsed;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "--help" || arg == "-h") {
      parsed.help = true;
      continue;
    }
    if (arg.size() < 3 || arg.rfind("--", 0) != 0) {
      if (parsed.positional.size() >= max_positional)
        throw Error(name_ + ": unexpected argument '" + arg + "' (see reskit " + name_ + " --help)");
      parsed.positional.push_back(arg);
      continue;
    }
    std::string key = arg.substr(2), value;
    const bool inline_value = key.find('=') != std::string::npos;
    if (inline_value) {
      value = key.substr(key.find('=') + 1);
      key = key.substr(0, key.find('='));
    }
    const FlagSpec* spec = nullptr;
    for (const FlagSpec& f : flags_)
      if (f.name == key) spec = &f;
    if (!spec) throw Error(name_ + ": unknown option '--" + key + "' (see reskit " + name_ + " --help)");
    if (!spec->metavar.empty() && !inline_value) {
      if (i + 1 >= args.size()) throw Error(name_ + ": option '--" + key + "' needs a value");
      value = args[++i];
    } else if (spec->metavar.empty() && inline_value) {
      throw Error(name_ + ": option '--" + key + "' takes no value");
    }
    if (!spec->repeatable && parsed.has(key)) throw Error(name_ + ": option '--" + key + "' given twice");
    parsed.values[key].push_back(value);
  }
  return parsed;
}

std::string Command::help_text() const {
  std::ostringstream s;
  s << "usage: " << usage_ << "\n\n" << summary_ << "\n\noptions:\n";
  for (const FlagSpec& f : flags_) {
    std::string left = "  --" + f.name + (f.metavar.empty() ? "" : " " + f.metavar);
    if (left.size() < 28) left.append(28 - left.size(), ' ');
    else left += "  ";
    s << left << f.help << (f.repeatable ? " (repeatable)" : "") << '\n';
  }
  return s.str();
}

std::string Command::choice(const ParsedArgs& args, const std::string& flag,
                            const std::vector<std::string>& choices) const {
  const std::string value = args.get(flag, choices.front());
  if (std::find(choices.begin(), choices.end(), value) != choices.end()) return value;
  std::string listed;
  for (size_t i = 0; i < choices.size(); ++i)
    listed += (i == 0 ? "" : i + 1 == choices.size() ? " or " : ", ") + choices[i];
  throw Error(name_ + ": --" + flag + " expects " + listed + ", got '" + value + "'");
}

std::vector<FlagSpec> model_flags() {
  return {
      {"set", "KEY=VALUE", "set a model option (see reskit models)", true},
      {"config", "FILE.json", "model options from a JSON object"},
      {"weights", "FILE", "PyTorch checkpoint (state dict; zip or legacy format)"},
      {"non-strict", "", "load the keys that match and list the rest"},
      {"seed", "N", "seed of the initialisation when no weights are given (default 0)"},
      {"device", "DEVICE", "cpu (default), cuda or cuda:N"},
      {"threads", "N", "intra-op threads (default: the CPUs this process may use)"},
  };
}

tasks::ModelRequest model_request(const ParsedArgs& args, const std::string& model_name) {
  tasks::ModelRequest r;
  r.name = model_name;
  r.sets = args.all("set");
  r.config_path = args.get("config");
  r.weights = args.get("weights");
  r.non_strict = args.has("non-strict");
  r.seed = args.get_int("seed", 0);
  r.device = args.get("device", "cpu");
  r.threads = thread_count(args);
  return r;
}

int thread_count(const ParsedArgs& args) {
  if (!args.has("threads")) return 0;
  const int64_t threads = args.get_int("threads", 0);
  if (threads < 1 || threads > 4096) throw Error("--threads expects 1 to 4096, got '" + args.get("threads") + "'");
  return static_cast<int>(threads);
}

std::vector<std::string> split_commas(const std::string& text) {
  std::vector<std::string> parts;
  std::stringstream in(text);
  for (std::string part; std::getline(in, part, ',');)
    if (!part.empty()) parts.push_back(part);
  return parts;
}

std::vector<int64_t> parse_size(const std::string& text, const std::string& flag) {
  std::vector<int64_t> dims;
  std::stringstream in(text);
  std::string part;
  while (std::getline(in, part, 'x')) {
    if (part.empty() || part.size() > 9 || part.find_first_not_of("0123456789") != std::string::npos)
      throw Error("--" + flag + " expects sizes like 1x3x224x224, got '" + text + "'");
    dims.push_back(std::stoll(part));
  }
  if (dims.empty() || text.back() == 'x')
    throw Error("--" + flag + " expects sizes like 1x3x224x224, got '" + text + "'");
  return dims;
}

}  // namespace reskit::cli
