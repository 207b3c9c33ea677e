#pragma once
// Ctrl-C (SIGINT) and SIGTERM as a request, for long jobs that must stop
// cleanly (train-seg saves its state, then exits): while an InterruptScope
// lives, the first signal only sets a flag that the job polls; a second one
// ends the process as the default action would.
#include <atomic>

namespace reskit {

class InterruptScope {
 public:
  InterruptScope();
  ~InterruptScope();
  InterruptScope(const InterruptScope&) = delete;
  InterruptScope& operator=(const InterruptScope&) = delete;

  // Whether a signal arrived since the scope began.
  static bool requested();
  // What a test or a step limit uses to stop the job as a signal would.
  static void request();
};

}  // namespace reskit
