#pragma once
// reskit's own version (the CMake project's).
namespace reskit {

const char* version();

}  // namespace reskit
