// The direct convolution kernels with AVX-512 (16 lanes, nChw16c): compiled
// with -mavx512f/bw/vl/dq -mfma (CMakeLists.txt) and called only where the CPU has them.
#include <immintrin.h>

#include "../direct_conv_layer.h"

namespace reskit::engine::kernels {
namespace {

#include "vec_avx512.h"

#include "../direct_conv_impl.h"

}  // namespace

RESKIT_DEFINE_DIRECT_KERNELS(avx512, Avx512)

}  // namespace reskit::engine::kernels
