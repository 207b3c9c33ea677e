#include "reskit/core/threads.h"

#include <ATen/Parallel.h>
#include <sched.h>

#include <string>

#include "reskit/core/error.h"

namespace reskit {

int available_cpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) != 0) return 1;
  const int count = CPU_COUNT(&set);
  return count > 0 ? count : 1;
}

int set_threads(int threads) {
  if (threads < 0) throw Error("threads must be at least 1, got " + std::to_string(threads));
  const int count = threads == 0 ? available_cpus() : threads;
  if (at::get_num_threads() != count) at::set_num_threads(count);
  return count;
}

}  // namespace reskit
