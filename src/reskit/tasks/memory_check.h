#pragma once
// Refusing a forward the machine cannot hold, before it starts, instead of
// being killed by the kernel halfway: a 20000x20000 image through resnet18
// needs 26 GB for its first convolution's output alone.
#include <cstdint>
#include <string>
#include <vector>

#include "reskit/models/registry.h"

namespace reskit::tasks {

// A lower bound of the memory `forward` needs on inputs of these sizes: its
// largest layer's input and output together. Measured on a copy of the
// inputs scaled down to a probe of about a million elements (what counts is
// the shapes) and scaled back up by the element counts. 0 when the probe
// cannot run (the real run then says why).
uint64_t forward_memory_lower_bound(torch::nn::Module& root, const models::Forward& forward,
                                    const std::vector<IntList>& input_sizes);

// Throws a one-line reskit::Error when inputs this large (over 16M elements)
// need more than available_memory_bytes(): it names the model, the sizes and both amounts.
void check_forward_memory(const std::string& model_name, torch::nn::Module& root, const models::Forward& forward,
                          const std::vector<IntList>& input_sizes);

}  // namespace reskit::tasks
