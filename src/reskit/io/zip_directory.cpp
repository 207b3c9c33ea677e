#include "reskit/io/zip_directory.h"

#include <algorithm>
#include <fstream>

#include "reskit/core/error.h"

namespace reskit::io {
namespace {

constexpr uint32_t kEndOfDirectory = 0x06054b50, kZip64End = 0x06064b50, kZip64Locator = 0x07064b50;
constexpr uint32_t kDirectoryEntry = 0x02014b50, kLocalHeader = 0x04034b50;
constexpr size_t kEndSize = 22, kEntrySize = 46, kLocalSize = 30, kMaxComment = 65535;

class File {
 public:
  File(const std::string& path, const std::string& context) : in_(path, std::ios::binary), context_(context) {
    if (!in_) bad("cannot open");
    in_.seekg(0, std::ios::end);
    size_ = static_cast<uint64_t>(in_.tellg());
  }
  uint64_t size() const { return size_; }
  [[noreturn]] void bad(const std::string& why) const { throw Error(context_ + ": bad zip archive: " + why); }
  // Exactly n bytes at `offset`, which must lie inside the file.
  std::string read(uint64_t offset, uint64_t n, const char* what) {
    if (offset > size_ || n > size_ - offset) bad(std::string(what) + " lies outside the file");
    std::string bytes(static_cast<size_t>(n), '\0');
    in_.seekg(static_cast<std::streamoff>(offset));
    in_.read(bytes.data(), static_cast<std::streamsize>(n));
    if (static_cast<uint64_t>(in_.gcount()) != n) bad(std::string("cannot read ") + what);
    return bytes;
  }

 private:
  std::ifstream in_;
  const std::string& context_;
  uint64_t size_ = 0;
};

uint64_t le(const std::string& s, size_t at, int bytes) {
  uint64_t v = 0;
  for (int i = bytes - 1; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(s[at + static_cast<size_t>(i)]);
  return v;
}

struct Directory {
  uint64_t entries = 0, size = 0, offset = 0;
};

// The end-of-central-directory record (and its zip64 twin, which torch.save writes).
Directory find_directory(File& file) {
  const uint64_t tail_size = std::min<uint64_t>(file.size(), kEndSize + kMaxComment);
  if (tail_size < kEndSize) file.bad("too short");
  const std::string tail = file.read(file.size() - tail_size, tail_size, "the end record");
  size_t at = tail_size - kEndSize + 1;
  do {
    --at;
    if (le(tail, at, 4) == kEndOfDirectory && at + kEndSize + le(tail, at + 20, 2) == tail_size) break;
  } while (at > 0);
  if (le(tail, at, 4) != kEndOfDirectory) file.bad("no end-of-directory record");
  Directory d{le(tail, at + 10, 2), le(tail, at + 12, 4), le(tail, at + 16, 4)};
  const uint64_t end_offset = file.size() - tail_size + at;
  if ((d.entries == 0xffff || d.size == 0xffffffff || d.offset == 0xffffffff) && end_offset >= 20) {
    const std::string locator = file.read(end_offset - 20, 20, "the zip64 locator");
    if (le(locator, 0, 4) != kZip64Locator) file.bad("no zip64 locator");
    const std::string end64 = file.read(le(locator, 8, 8), 56, "the zip64 end record");
    if (le(end64, 0, 4) != kZip64End) file.bad("no zip64 end record");
    d = Directory{le(end64, 32, 8), le(end64, 40, 8), le(end64, 48, 8)};
  }
  if (d.entries > d.size / kEntrySize + 1) file.bad("more entries than its directory can hold");
  return d;
}

// A central directory entry's zip64 extra field replaces the sizes and offset
// that do not fit 32 bits, in this order.
void apply_zip64_extra(File& file, const std::string& extra, uint64_t& uncompressed, uint64_t& compressed,
                       uint64_t& local_offset) {
  for (size_t at = 0; at + 4 <= extra.size();) {
    const uint64_t id = le(extra, at, 2), len = le(extra, at + 2, 2);
    if (at + 4 + len > extra.size()) file.bad("corrupted extra field");
    if (id == 0x0001) {
      size_t p = at + 4;
      for (uint64_t* field : {&uncompressed, &compressed, &local_offset}) {
        if (*field != 0xffffffff) continue;
        if (p + 8 > at + 4 + len) file.bad("corrupted zip64 extra field");
        *field = le(extra, p, 8);
        p += 8;
      }
    }
    at += 4 + static_cast<size_t>(len);
  }
}

}  // namespace

std::vector<ZipEntry> read_zip_directory(const std::string& path, const std::string& context) {
  File file(path, context);
  const Directory d = find_directory(file);
  const std::string dir = file.read(d.offset, d.size, "the central directory");
  std::vector<ZipEntry> entries;
  size_t at = 0;
  for (uint64_t i = 0; i < d.entries; ++i) {
    if (at + kEntrySize > dir.size() || le(dir, at, 4) != kDirectoryEntry) file.bad("corrupted central directory");
    ZipEntry e;
    e.method = static_cast<uint16_t>(le(dir, at + 10, 2));
    e.compressed_size = le(dir, at + 20, 4);
    e.uncompressed_size = le(dir, at + 24, 4);
    const size_t name_len = le(dir, at + 28, 2), extra_len = le(dir, at + 30, 2), comment_len = le(dir, at + 32, 2);
    uint64_t local_offset = le(dir, at + 42, 4);
    if (at + kEntrySize + name_len + extra_len + comment_len > dir.size()) file.bad("corrupted central directory");
    e.name = dir.substr(at + kEntrySize, name_len);
    apply_zip64_extra(file, dir.substr(at + kEntrySize + name_len, extra_len), e.uncompressed_size,
                      e.compressed_size, local_offset);
    const std::string local = file.read(local_offset, kLocalSize, "a record's header");
    if (le(local, 0, 4) != kLocalHeader) file.bad("record '" + e.name + "' has no local header");
    e.data_offset = local_offset + kLocalSize + le(local, 26, 2) + le(local, 28, 2);
    if (e.data_offset > file.size() || e.compressed_size > file.size() - e.data_offset)
      file.bad("record '" + e.name + "' lies outside the file");
    entries.push_back(std::move(e));
    at += kEntrySize + name_len + extra_len + comment_len;
  }
  return entries;
}

std::string read_stored_record(const std::string& path, const ZipEntry& entry, uint64_t limit,
                               const std::string& context) {
  File file(path, context);
  return file.read(entry.data_offset, std::min(entry.compressed_size, limit), "a record");
}

}  // namespace reskit::io
