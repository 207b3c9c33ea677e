#pragma once
// The CPU backend on oneDNN (Debian's libdnnl, called directly rather than
// through LibTorch): convolutions with their bias, residual sum and
// activation as post-ops, pooling, activations and adds, on buffers in the
// layouts oneDNN's kernels choose (blocked nChw16c / nChw8c), converted only
// where a reader needs another. Constant weights are reordered once, at
// compile time.
#include <memory>

#include "../calibration.h"
#include "../lower.h"
#include "../weight_pool.h"

namespace reskit::engine::onednn {

// `pool` (may be null): weights this plan shares with others compiled with it.
// `calibration` (may be null): the convolutions whose sources it covers run in int8.
// `bf16`: the convolutions oneDNN has a bf16 kernel for run in bf16 (f32 out).
std::unique_ptr<Backend> make_backend(std::shared_ptr<WeightPool> pool,
                                      std::shared_ptr<const Calibration> calibration = nullptr, bool bf16 = false);

}  // namespace reskit::engine::onednn
