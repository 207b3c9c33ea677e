#include "reskit/core/interrupt.h"

#include <csignal>

namespace reskit {
namespace {

std::atomic<bool> g_requested{false};
struct sigaction g_previous_int, g_previous_term;

void on_signal(int signal) {
  if (g_requested.exchange(true)) {
    // The second one: the default action, now.
    std::signal(signal, SIG_DFL);
    std::raise(signal);
  }
}

}  // namespace

InterruptScope::InterruptScope() {
  g_requested = false;
  struct sigaction action {};
  action.sa_handler = on_signal;
  sigemptyset(&action.sa_mask);
  sigaction(SIGINT, &action, &g_previous_int);
  sigaction(SIGTERM, &action, &g_previous_term);
}

InterruptScope::~InterruptScope() {
  sigaction(SIGINT, &g_previous_int, nullptr);
  sigaction(SIGTERM, &g_previous_term, nullptr);
}

bool InterruptScope::requested() { return g_requested.load(); }
void InterruptScope::request() { g_requested = true; }

}  // namespace reskit
