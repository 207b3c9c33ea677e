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
int cmd_bench(const Args& args);
int cmd_detect(const Args& args);
int cmd_eval_detect(const Args& args);
int cmd_inflate(const Args& args);
int cmd_recognize(const Args& args);
int cmd_track(const Args& args);
int cmd_eval_track(const Args& args);
int cmd_train_seg(const Args& args);
int cmd_segment(const Args& args);
int cmd_eval_seg(const Args& args);
int cmd_make_data(const Args& args);
int cmd_compile(const Args& args);

}  // namespace reskit::cli
