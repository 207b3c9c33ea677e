#pragma once
// Writes go to a temporary file beside the target; commit() renames it into
// place. An error before commit() removes the temporary, so a failed command
// never leaves a partial output or a half-written checkpoint.
#include <fstream>
#include <string>

namespace reskit::io {

class AtomicFile {
 public:
  explicit AtomicFile(std::string path);
  ~AtomicFile();
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  std::ofstream& stream() { return out_; }
  const std::string& temp_path() const { return temp_; }
  // Flushes, checks the stream and renames; throws reskit::Error on failure.
  void commit();

 private:
  std::string path_;
  std::string temp_;
  std::ofstream out_;
  bool committed_ = false;
};

}  // namespace reskit::io
