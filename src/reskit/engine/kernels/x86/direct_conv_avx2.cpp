// The direct convolution kernels with AVX2+FMA (8 lanes, nChw8c): compiled
// with -mavx2 -mfma (CMakeLists.txt) and called only where the CPU has them.
#include <immintrin.h>

#include "../direct_conv_layer.h"

namespace reskit::engine::kernels {
namespace {

#include "vec_avx2.h"

#include "../direct_conv_impl.h"

}  // namespace

RESKIT_DEFINE_DIRECT_KERNELS(avx2, Avx2)

}  // namespace reskit::engine::kernels
