#pragma once
// The CPU backend on oneDNN (Debian's libdnnl, called directly rather than
// through LibTorch): convolutions with their bias, residual sum and
// activation as post-ops, pooling, activations and adds, on buffers in the
// layouts oneDNN's kernels choose (blocked nChw16c / nChw8c), converted only
// where a reader needs another. Constant weights are reordered once, at
// compile time.
#include <memory>

#include "../lower.h"

namespace reskit::engine::onednn {

std::unique_ptr<Backend> make_backend();

}  // namespace reskit::engine::onednn
