#pragma once
// Where reskit's data (ImageNet's class names, ...) is, found at run time
// from where the library itself lies, so that a build tree, an installed
// prefix or a moved install all find theirs: $RESKIT_DATA_DIR when set,
// else share/reskit beside the library's lib folder.
#include <string>

namespace reskit {

std::string data_dir();

}  // namespace reskit
