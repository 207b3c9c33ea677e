// libFuzzer target: model options as users write them, `--set KEY=VALUE`
// lines or a JSON --config, against specs of every option type. Any input
// sets options or gives a reskit::Error.
#include <sstream>
#include <string>

#include "reskit/core/error.h"
#include "reskit/core/option_fields.h"
#include "reskit/core/options_json.h"

namespace {

enum class Mode { kA, kB };
const std::vector<std::pair<Mode, const char*>>& reskit_enum_names(Mode) {
  static const std::vector<std::pair<Mode, const char*>> names = {{Mode::kA, "a"}, {Mode::kB, "b"}};
  return names;
}

struct Inner {
#define RESKIT_FIELDS(X) X(reskit::IntListList, groups, (reskit::IntListList{{1, 0}, {1}}), "nested lists")
  RESKIT_OPTIONS(RESKIT_FIELDS)
#undef RESKIT_FIELDS
};

struct AllTypes {
#define RESKIT_FIELDS(X)                                          \
  X(int64_t, count, 3, "")                                        \
  X(double, ratio, 0.5, "")                                       \
  X(bool, flag, false, "")                                        \
  X(std::string, word, "x", "")                                   \
  X(Mode, mode, Mode::kA, "")                                     \
  X(reskit::IntList, sizes, (reskit::IntList{1, 2}), "")          \
  X(std::vector<bool>, flags, (std::vector<bool>{true}), "")      \
  X(Inner, inner, Inner(), "")
  RESKIT_OPTIONS(RESKIT_FIELDS)
#undef RESKIT_FIELDS
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  reskit::Options options("fuzz", reskit::option_specs(AllTypes()));
  try {
    if (!text.empty() && text[0] == '{') {
      reskit::apply_json_options(options, text, "config.json");
    } else {
      std::istringstream lines(text);
      for (std::string line; std::getline(lines, line);) options.set_from_assignment(line);
    }
    AllTypes typed;
    reskit::read_options(options, typed);
    reskit::options_to_json(options);
  } catch (const reskit::Error&) {
  }
  return 0;
}
