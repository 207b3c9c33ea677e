// The max-pool pyramid with AVX-512 (16 lanes, nChw16c): compiled with
// -mavx512f/bw/vl -mfma (CMakeLists.txt) and called only where the CPU has them.
#include <immintrin.h>

#include "../max_pool_pyramid_layer.h"

namespace reskit::engine::kernels {
namespace {

#include "vec_avx512.h"

#include "../max_pool_pyramid_impl.h"

}  // namespace

RESKIT_DEFINE_PYRAMID_KERNELS(avx512, Avx512)

}  // namespace reskit::engine::kernels
