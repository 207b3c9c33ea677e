#pragma once
// What `reskit --version` prints: reskit's version, the LibTorch, oneDNN and
// OpenCV it runs on, and the CPU's ISA as reskit and LibTorch use it.
#include <string>
#include <utility>
#include <vector>

namespace reskit::tasks {

// ("reskit", "0.1.0"), ("LibTorch", "1.13.0"), ... in print order.
std::vector<std::pair<std::string, std::string>> build_info();

// build_info() as "name version" lines, ending with a newline.
std::string build_info_text();

}  // namespace reskit::tasks
