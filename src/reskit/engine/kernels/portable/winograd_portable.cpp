// The Winograd kernels in portable C++ (8 lanes, nChw8c), for CPUs without
// AVX2: plain loops over 8 floats, which the compiler maps to what the
// baseline x86-64 (SSE2) or any other target offers.
#include "../winograd_layer.h"

namespace reskit::engine::kernels {
namespace {

#include "vec_portable.h"

#include "../winograd_impl.h"

}  // namespace

RESKIT_DEFINE_WINOGRAD_KERNELS(portable, Portable)

}  // namespace reskit::engine::kernels
