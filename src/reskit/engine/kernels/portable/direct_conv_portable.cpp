// The direct convolution kernels in portable C++ (8 lanes, nChw8c), for CPUs
// without AVX2.

#include "../direct_conv_layer.h"

namespace reskit::engine::kernels {
namespace {

#include "vec_portable.h"

#include "../direct_conv_impl.h"

}  // namespace

RESKIT_DEFINE_DIRECT_KERNELS(portable, Portable)

}  // namespace reskit::engine::kernels
