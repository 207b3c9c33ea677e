#include "reskit/core/progress.h"

#include <unistd.h>

#include <algorithm>

namespace reskit {
namespace {

using Clock = std::chrono::steady_clock;

double seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

// Plain lines start once a job has run this long, and come no more often:
// a quick job prints nothing, a long one a line every few seconds.
constexpr double kLineDelay = 2.0, kLinePeriod = 5.0;
// A bar is redrawn at most this often.
constexpr double kBarPeriod = 0.1;
constexpr int kBarWidth = 30;

}  // namespace

Progress::Progress(std::string label, int64_t total, Style style, std::FILE* out)
    : label_(std::move(label)), total_(std::max<int64_t>(total, 0)), style_(style), out_(out) {
  if (style_ == Style::kAuto) style_ = isatty(fileno(out_)) ? Style::kBar : Style::kLines;
  start_ = last_draw_ = Clock::now();
}

Progress::~Progress() { finish(); }

void Progress::step(const std::string& what) {
  ++done_;
  what_ = what;
  draw(false);
}

void Progress::draw(bool force) {
  if (style_ == Style::kQuiet) return;
  const Clock::time_point now = Clock::now();
  const double elapsed = seconds(now - start_), since = seconds(now - last_draw_);
  const int64_t shown = std::min(done_, total_);
  if (style_ == Style::kBar) {
    if (!force && drawn_ && since < kBarPeriod) return;
    const int filled = total_ ? static_cast<int>(kBarWidth * shown / total_) : kBarWidth;
    std::fprintf(out_, "\r\033[K%s [%s%s] %lld/%lld %.1fs %s", label_.c_str(), std::string(filled, '#').c_str(),
                 std::string(kBarWidth - filled, '.').c_str(), static_cast<long long>(shown),
                 static_cast<long long>(total_), elapsed, what_.c_str());
  } else {
    if (!force && (elapsed < kLineDelay || (drawn_ && since < kLinePeriod))) return;
    std::fprintf(out_, "%s: %lld/%lld after %.1fs%s%s\n", label_.c_str(), static_cast<long long>(shown),
                 static_cast<long long>(total_), elapsed, what_.empty() ? "" : ", ", what_.c_str());
  }
  std::fflush(out_);
  drawn_ = true;
  last_draw_ = now;
}

void Progress::finish() {
  if (finished_) return;
  finished_ = true;
  if (style_ == Style::kBar) {
    draw(true);
    std::fputc('\n', out_);
    std::fflush(out_);
  } else if (style_ == Style::kLines && drawn_) {
    std::fprintf(out_, "%s: done, %lld/%lld in %.1fs\n", label_.c_str(), static_cast<long long>(std::min(done_, total_)),
                 static_cast<long long>(total_), seconds(Clock::now() - start_));
    std::fflush(out_);
  }
}

}  // namespace reskit
