#include "reskit/core/data_dir.h"

#include <dlfcn.h>

#include <cstdlib>
#include <filesystem>

namespace reskit {

std::string data_dir() {
  if (const char* dir = std::getenv("RESKIT_DATA_DIR"); dir && *dir) return dir;
  Dl_info info{};
  if (dladdr(reinterpret_cast<const void*>(&data_dir), &info) == 0 || !info.dli_fname) return "";
  // RESKIT_DATA_FROM_LIB: the data folder relative to the library's, as CMake lays both out.
  const std::filesystem::path library = std::filesystem::absolute(info.dli_fname);
  return (library.parent_path() / RESKIT_DATA_FROM_LIB).lexically_normal().string();
}

}  // namespace reskit
