#include "reskit/core/module_call.h"

namespace reskit {

CallObserver*& active_call_observer() {
  static thread_local CallObserver* observer = nullptr;
  return observer;
}

}  // namespace reskit
