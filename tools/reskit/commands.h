#pragma once
// One entry point per `reskit <command>`; each lives in cmd_<command>.cpp.
#include <string>
#include <vector>

namespace reskit::cli {

using Args = std::vector<std::string>;

int cmd_run(const Args& args);
int cmd_models(const Args& args);
int cmd_demo(const Args& args);
int cmd_classify(const Args& args);
int cmd_summary(const Args& args);
int cmd_print(const Args& args);

// "1x3x224x224"
std::string format_sizes(const std::vector<int64_t>& sizes);

}  // namespace reskit::cli
