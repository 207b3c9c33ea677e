#pragma once
// What the tests of reskit's own kernels share: oneDNN's blocked layouts and
// the ISAs this machine runs.
#include <torch/torch.h>

#include <vector>

#include "reskit/engine/kernels/isa.h"

namespace reskit::test {

// N x C x H x W -> N x C/L x H x W x L, oneDNN's nChw{L}c, always a copy (a
// 1x1 map's would otherwise share the storage a kernel writes).
inline at::Tensor blocked(const at::Tensor& x, int64_t lanes) {
  return x.view({x.size(0), x.size(1) / lanes, lanes, x.size(2), x.size(3)})
      .permute({0, 1, 3, 4, 2})
      .clone(at::MemoryFormat::Contiguous);
}

// N x C/L x H x W x L -> N x C x H x W.
inline at::Tensor dense(const at::Tensor& x) {
  return x.permute({0, 1, 4, 2, 3}).reshape({x.size(0), x.size(1) * x.size(4), x.size(2), x.size(3)}).contiguous();
}

// Every ISA of reskit's kernels this machine has, down to the portable one.
inline std::vector<engine::kernels::Isa> kernel_isas() {
  using engine::kernels::Isa;
  std::vector<Isa> all = {Isa::kPortable};
  if (engine::kernels::best_isa() >= Isa::kAvx2) all.push_back(Isa::kAvx2);
  if (engine::kernels::best_isa() >= Isa::kAvx512) all.push_back(Isa::kAvx512);
  return all;
}

}  // namespace reskit::test
