#pragma once
// How many intra-op threads LibTorch runs with. Its own default is one per
// physical core it counts, which on the 2-vCPU machines reskit runs on is
// often 1: half the machine idle, and LibTorch's 1-thread conv heuristics.
namespace reskit {

// The CPUs this process may run on (sched_getaffinity), at least 1.
int available_cpus();

// Sets LibTorch's intra-op threads; 0 means available_cpus(). Returns the count set.
int set_threads(int threads);

}  // namespace reskit
