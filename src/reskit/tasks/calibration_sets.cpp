#include "reskit/tasks/calibration_sets.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>

#include "reskit/core/error.h"
#include "reskit/core/text_format.h"

namespace reskit::tasks {

std::vector<std::vector<at::Tensor>> calibration_sets(const std::string& command,
                                                      const std::vector<at::Tensor>& samples,
                                                      const std::vector<IntList>& input_sizes) {
  if (samples.size() != input_sizes.size())
    throw Error(command + ": --calibration gives " + std::to_string(samples.size()) + " tensors, the model takes " +
                std::to_string(input_sizes.size()) + (input_sizes.size() == 1 ? " input" : " inputs") + " (one --calibration FILE.npy per input, in order)");
  int64_t sets = -1;
  for (size_t i = 0; i < samples.size(); ++i) {
    const IntList& want = input_sizes[i];
    const IntList got = samples[i].sizes().vec();
    if (want.empty() || got.size() != want.size() || !std::equal(want.begin() + 1, want.end(), got.begin() + 1))
      throw Error(command + ": calibration tensor " + std::to_string(i) + " is " + sizes_text(got) +
                  "; samples of the input's shape " + sizes_text(want) + " are needed, stacked along dim 0");
    const int64_t n = want[0] == 0 ? 0 : got[0] / want[0];
    sets = sets < 0 ? n : std::min(sets, n);
  }
  if (sets <= 0)
    throw Error(command + ": the calibration set holds fewer samples than one input batch (" +
                sizes_text(input_sizes.empty() ? IntList{} : input_sizes[0]) + ")");
  std::vector<std::vector<at::Tensor>> out(static_cast<size_t>(sets));
  for (int64_t s = 0; s < sets; ++s)
    for (size_t i = 0; i < samples.size(); ++i)
      out[static_cast<size_t>(s)].push_back(
          samples[i].narrow(0, s * input_sizes[i][0], input_sizes[i][0]).to(at::kFloat).contiguous());
  return out;
}

std::vector<std::vector<at::Tensor>> random_calibration_sets(const std::vector<IntList>& input_sizes, int64_t count) {
  std::vector<std::vector<at::Tensor>> out;
  for (int64_t s = 0; s < count; ++s) {
    at::Generator generator = at::detail::createCPUGenerator(static_cast<uint64_t>(s + 1));
    std::vector<at::Tensor> set;
    for (const IntList& size : input_sizes) set.push_back(at::randn(size, generator));
    out.push_back(std::move(set));
  }
  return out;
}

}  // namespace reskit::tasks
