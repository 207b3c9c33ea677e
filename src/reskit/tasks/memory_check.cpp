#include "reskit/tasks/memory_check.h"

#include <ATen/ATen.h>
#include <c10/util/Exception.h>

#include <algorithm>
#include <cmath>

#include "reskit/core/error.h"
#include "reskit/core/memory.h"
#include "reskit/core/text_format.h"
#include "reskit/tasks/summary.h"

namespace reskit::tasks {
namespace {

// Inputs up to this many elements in all are run without a probe.
constexpr int64_t kCheckAbove = int64_t{16} << 20;
constexpr double kProbeElements = 1 << 20;

int64_t elements(const IntList& size) {
  int64_t n = 1;
  for (int64_t d : size) n *= d;
  return n;
}

// Batch 1, every dimension after the channels divided by one factor, so that
// the probe holds about kProbeElements and keeps the inputs' proportions.
std::vector<IntList> probe_sizes(const std::vector<IntList>& sizes, double* scale) {
  double total = 0;
  size_t spatial = 0;
  for (const IntList& s : sizes) {
    total += static_cast<double>(elements(s)) / static_cast<double>(s.empty() ? 1 : s[0]);
    spatial = std::max(spatial, s.size() > 2 ? s.size() - 2 : size_t{0});
  }
  const double factor = spatial ? std::max(1.0, std::pow(total / kProbeElements, 1.0 / static_cast<double>(spatial))) : 1.0;
  std::vector<IntList> probe;
  double real = 0, probed = 0;
  for (const IntList& s : sizes) {
    IntList p = s;
    if (!p.empty()) p[0] = 1;
    for (size_t d = 2; d < p.size(); ++d) p[d] = std::max<int64_t>(1, std::llround(static_cast<double>(p[d]) / factor));
    real += static_cast<double>(elements(s));
    probed += static_cast<double>(elements(p));
    probe.push_back(p);
  }
  *scale = probed > 0 ? real / probed : 1.0;
  return probe;
}

}  // namespace

uint64_t forward_memory_lower_bound(torch::nn::Module& root, const models::Forward& forward,
                                    const std::vector<IntList>& input_sizes) {
  double scale = 1;
  const std::vector<IntList> probe = probe_sizes(input_sizes, &scale);
  std::vector<at::Tensor> inputs;
  c10::Device device(c10::kCPU);
  for (const at::Tensor& p : root.parameters()) {
    device = p.device();
    break;
  }
  for (const IntList& size : probe) inputs.push_back(at::zeros(size, at::TensorOptions().device(device)));
  SummaryResult probed;
  try {
    probed = summarize(root, forward, inputs);
  } catch (const c10::Error&) {
    return 0;
  } catch (const Error&) {
    return 0;
  }
  double largest = 0;
  for (const SummaryRow& r : probed.rows)
    if (r.is_leaf && r.executed)
      largest = std::max(largest, 4.0 * static_cast<double>(elements(r.input_size) + elements(r.output_size)));
  return static_cast<uint64_t>(largest * scale);
}

void check_forward_memory(const std::string& model_name, torch::nn::Module& root, const models::Forward& forward,
                          const std::vector<IntList>& input_sizes) {
  int64_t total = 0;
  for (const IntList& s : input_sizes) total += elements(s);
  if (total <= kCheckAbove) return;
  const uint64_t needed = forward_memory_lower_bound(root, forward, input_sizes);
  const uint64_t available = available_memory_bytes();
  if (needed > available)
    throw Error(model_name + ": input " + sizes_text(input_sizes) + " needs at least " + gigabytes_text(needed) +
                " of memory (its largest layer's input and output), more than the " + gigabytes_text(available) +
                " available");
}

}  // namespace reskit::tasks
