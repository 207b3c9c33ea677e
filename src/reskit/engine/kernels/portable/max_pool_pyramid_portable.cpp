// The max-pool pyramid in portable C++ (8 lanes, nChw8c), for CPUs without AVX2.
#include "../max_pool_pyramid_layer.h"

namespace reskit::engine::kernels {
namespace {

#include "vec_portable.h"

#include "../max_pool_pyramid_impl.h"

}  // namespace

RESKIT_DEFINE_PYRAMID_KERNELS(portable, Portable)

}  // namespace reskit::engine::kernels
