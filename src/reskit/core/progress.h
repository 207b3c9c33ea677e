#pragma once
// Progress of a long job, for the user: a bar redrawn in place on a terminal,
// a plain line now and then otherwise (logs, CI), nothing when quiet. Written
// to stderr so that what a command prints on stdout (tables, JSON) stays clean.
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>

namespace reskit {

class Progress {
 public:
  enum class Style { kAuto, kBar, kLines, kQuiet };  // kAuto: a bar on a terminal, lines otherwise

  Progress(std::string label, int64_t total, Style style = Style::kAuto, std::FILE* out = stderr);
  ~Progress();
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

  // One more step done, with an optional word on what it was ("resnet50").
  void step(const std::string& what = "");
  // Ends the display: the bar's line is completed, a plain "done" line is
  // written if lines were shown. Called by the destructor otherwise.
  void finish();

 private:
  void draw(bool force);

  std::string label_, what_;
  int64_t total_, done_ = 0;
  Style style_;
  std::FILE* out_;
  std::chrono::steady_clock::time_point start_, last_draw_;
  bool drawn_ = false, finished_ = false;
};

// kQuiet when quiet, else kAuto: what commands with a --quiet flag pass.
inline Progress::Style progress_style(bool quiet) { return quiet ? Progress::Style::kQuiet : Progress::Style::kAuto; }

}  // namespace reskit
