#pragma once
// The calibration set of an int8 plan (engine::CompileOptions::calibration),
// from what a user gives: one tensor per model input, its samples along
// dim 0. A plan is compiled for one input batch, so the samples go in sets
// of that batch; a remainder that fills no set is left out.
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <string>
#include <vector>

#include "reskit/models/registry.h"

namespace reskit::tasks {

std::vector<std::vector<at::Tensor>> calibration_sets(const std::string& command,
                                                      const std::vector<at::Tensor>& samples,
                                                      const std::vector<IntList>& input_sizes);

// `count` sets of seeded standard-normal inputs, the distribution of
// `reskit bench`'s own inputs (its seed is 0; these take 1, 2, ...).
std::vector<std::vector<at::Tensor>> random_calibration_sets(const std::vector<IntList>& input_sizes, int64_t count);

}  // namespace reskit::tasks
