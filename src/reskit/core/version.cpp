#include "reskit/core/version.h"

namespace reskit {

const char* version() { return RESKIT_VERSION; }

}  // namespace reskit
