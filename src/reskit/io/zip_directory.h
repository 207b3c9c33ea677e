#pragma once
// A zip archive's central directory, read before anything is inflated:
// what each record claims to be (name, compression, sizes, where its bytes
// lie) checked against the file, so that a record that would inflate to
// gigabytes, or point outside the file, is refused before it costs anything.
#include <cstdint>
#include <string>
#include <vector>

namespace reskit::io {

struct ZipEntry {
  std::string name;
  uint16_t method = 0;  // 0: stored (what torch.save writes), 8: deflated, ...
  uint64_t compressed_size = 0, uncompressed_size = 0;
  uint64_t data_offset = 0;  // of the record's bytes, past its local header
};

// Throws reskit::Error "<context>: bad zip archive: <why>".
std::vector<ZipEntry> read_zip_directory(const std::string& path, const std::string& context);

// A stored record's bytes (at most `limit` of them are read).
std::string read_stored_record(const std::string& path, const ZipEntry& entry, uint64_t limit,
                               const std::string& context);

}  // namespace reskit::io
