#include "reskit/io/atomic_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "reskit/core/error.h"

namespace reskit::io {
namespace {

// Failure injection for the tests, which must hold when they run as root
// (where an unwritable directory is writable): RESKIT_INJECT_WRITE_ERROR=EACCES
// fails every file as it is opened, ENOSPC as it is finished, as a directory
// without permission and a full disk do.
int injected(const char* when) {
  const char* what = std::getenv("RESKIT_INJECT_WRITE_ERROR");
  if (!what) return 0;
  if (std::strcmp(when, "open") == 0 && std::strcmp(what, "EACCES") == 0) return EACCES;
  if (std::strcmp(when, "commit") == 0 && std::strcmp(what, "ENOSPC") == 0) return ENOSPC;
  return 0;
}

}  // namespace

AtomicFile::AtomicFile(std::string path)
    : path_(std::move(path)), temp_(path_ + ".tmp." + std::to_string(::getpid())) {
  if (const int error = injected("open")) throw Error("cannot write '" + path_ + "': " + std::strerror(error));
  out_.open(temp_, std::ios::binary | std::ios::trunc);
  if (!out_) throw Error("cannot write '" + path_ + "': " + std::strerror(errno));
}

AtomicFile::~AtomicFile() {
  if (!committed_) {
    out_.close();
    std::remove(temp_.c_str());
  }
}

void AtomicFile::commit() {
  errno = 0;
  out_.flush();
  const bool ok = static_cast<bool>(out_);
  const int flush_error = errno;
  out_.close();
  if (!ok || out_.fail())
    throw Error("cannot write '" + path_ + "': " + (flush_error ? std::strerror(flush_error) : "write failed"));
  if (const int error = injected("commit")) throw Error("cannot write '" + path_ + "': " + std::strerror(error));
  // On disk before it takes the real name: a crash after the rename finds the whole file.
  const int fd = ::open(temp_.c_str(), O_RDONLY);
  const bool synced = fd >= 0 && ::fsync(fd) == 0;
  const int sync_error = errno;
  if (fd >= 0) ::close(fd);
  if (!synced) throw Error("cannot write '" + path_ + "': " + std::strerror(sync_error));
  if (std::rename(temp_.c_str(), path_.c_str()) != 0)
    throw Error("cannot write '" + path_ + "': " + std::strerror(errno));
  committed_ = true;
}

}  // namespace reskit::io
