// libFuzzer target: the reader of a run's metrics.csv (tasks/seg_report.h),
// which --resume reads back. Any input gives rows or a one-line
// reskit::Error; the fields it splits never outnumber the input's bytes plus
// its lines, and it never returns more rows than lines.
#include <cstdlib>
#include <string>

#include "reskit/core/error.h"
#include "reskit/tasks/seg_report.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  reskit::tasks::MetricsReadCost cost;
  try {
    const reskit::tasks::MetricsTable t = reskit::tasks::parse_metrics_csv(text, "fuzz", &cost);
    if (t.rows.size() + 1 > cost.lines) std::abort();
  } catch (const reskit::Error& e) {
    if (std::string(e.what()).find('\n') != std::string::npos) std::abort();
  }
  if (cost.text_bytes != size || cost.fields > cost.text_bytes + cost.lines) std::abort();
  return 0;
}
