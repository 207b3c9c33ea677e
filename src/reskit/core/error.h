#pragma once
// The one exception type reskit throws for anything the user can fix:
// the message is a single line naming the thing that is wrong.
#include <stdexcept>
#include <string>

namespace reskit {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& what) : std::runtime_error(what) {}
};

}  // namespace reskit
