#pragma once
// Post-training static quantisation's calibration: the range each
// convolution's source takes over a calibration set the user gives, and
// whether it can be negative. An int8 plan quantises each convolution's
// source with the scale its range gives (onednn/int8_conv.h).
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <unordered_map>
#include <vector>

#include "graph.h"
#include "reskit/core/progress.h"

namespace reskit::engine {

// A plan's arithmetic: f32, int8 (post-training static quantisation) or
// bf16 (the convolutions' sources and weights rounded to bfloat16).
enum class Precision { kFloat32, kInt8, kBFloat16 };

struct Calibration {
  // Per value read as a convolution's source: the largest |x| it took.
  std::unordered_map<int64_t, float> max_abs;
  // Per such value: true where the graph makes it non-negative (a ReLU's
  // output, or a pool of one), so that it quantises to u8 rather than s8.
  std::unordered_map<int64_t, bool> non_negative;
};

// Runs the passes' graph on ATen over each input set of `inputs` (each
// shaped as the plan's example) and records the convolutions' source ranges.
// Progress, one step per set, as `progress` says.
Calibration calibrate(const Graph& graph, const std::vector<std::vector<at::Tensor>>& inputs,
                      Progress::Style progress = Progress::Style::kQuiet);

}  // namespace reskit::engine
