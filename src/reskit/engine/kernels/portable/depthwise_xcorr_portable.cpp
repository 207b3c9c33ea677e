// The depthwise cross-correlation in portable C++ (8 lanes, nChw8c), for
// CPUs without AVX2.
#include "../depthwise_xcorr_layer.h"

namespace reskit::engine::kernels {
namespace {

#include "vec_portable.h"

#include "../depthwise_xcorr_impl.h"

}  // namespace

RESKIT_DEFINE_XCORR_KERNELS(portable, Portable)

}  // namespace reskit::engine::kernels
