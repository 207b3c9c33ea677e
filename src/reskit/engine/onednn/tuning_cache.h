#pragma once
// Kernel choices measured on this machine, kept across processes: a text
// file of "machine<TAB>layer<TAB>choice" lines, where machine names the CPU,
// the ISA cap, oneDNN's version and the thread count, so that another CPU or
// thread count measures again. The file is
//   $RESKIT_TUNING_CACHE, or $XDG_CACHE_HOME/reskit/tuning.tsv, or ~/.cache/reskit/tuning.tsv;
// RESKIT_TUNING_CACHE=off keeps choices in this process only, and RESKIT_TUNE=0
// measures nothing (each layer takes its first candidate: oneDNN's direct);
// RESKIT_TUNE_LOG=1 prints every candidate's time on stderr as it is measured.
#include <optional>
#include <string>

namespace reskit::engine::onednn {

bool tuning_enabled();

std::optional<std::string> find_tuned(const std::string& layer);
void store_tuned(const std::string& layer, const std::string& choice);

}  // namespace reskit::engine::onednn
