#include "reskit/io/checkpoint.h"

#include <ATen/ATen.h>
#include <c10/util/Exception.h>
#include <caffe2/serialize/inline_container.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <new>
#include <unordered_map>
#include <unordered_set>

#include "reskit/core/error.h"
#include "reskit/io/pickle_reader.h"
#include "reskit/io/zip_directory.h"

// Reading what torch.save writes: the zip container and the legacy pickle
// stream, through the whitelisting pickle reader (pickle_reader.h).
namespace reskit::io {
namespace {

using Kind = PickleValue::Kind;

std::string first_line(const std::string& s) { return s.substr(0, s.find('\n')); }

bool host_is_little_endian() {
  const uint16_t one = 1;
  uint8_t first;
  std::memcpy(&first, &one, 1);
  return first == 1;
}

// ---- from the top-level object to a state dict -----------------------------

const PickleValue* inner_state_dict(const PickleValue& dict) {
  for (const char* key : {"state_dict", "model"}) {
    const PickleValue* inner = dict.find(key);
    if (inner && inner->is(Kind::Dict)) return inner;
  }
  return nullptr;
}

StateDict to_state_dict(const PickleValue& top, const std::string& ctx) {
  if (top.is(Kind::Object)) throw Error(ctx + ": unsupported global '" + top.global_name() + "'");
  if (!top.is(Kind::Dict)) throw Error(ctx + ": holds " + describe_kind(top.kind) + ", not a state dict");
  // Training scripts save {"state_dict": ..., "epoch": ...} or {"model": ...};
  // a few levels of that are unwrapped, never a real parameter (those are tensors).
  const PickleValue* dict = &top;
  for (int level = 0; level < 4; ++level) {
    const PickleValue* inner = inner_state_dict(*dict);
    if (!inner) break;
    dict = inner;
  }
  static const std::string kParallelPrefix = "module.";
  StateDict out;
  std::unordered_set<std::string> seen;
  for (size_t i = 0; i + 1 < dict->items.size(); i += 2) {
    const PickleValue* key = dict->items[i];
    const PickleValue* value = dict->items[i + 1];
    if (key->is(Kind::String) && value->is(Kind::Object) && dict != &top)  // a tensor we cannot rebuild
      throw Error(ctx + ": '" + key->text.substr(0, 200) + "' is an unsupported global '" + value->global_name() + "'");
    if (!key->is(Kind::String) || !value->is(Kind::Tensor)) continue;  // epoch, optimizer, ...
    std::string name = key->text;
    if (name.compare(0, kParallelPrefix.size(), kParallelPrefix) == 0) name.erase(0, kParallelPrefix.size());
    if (!seen.insert(name).second) throw Error(ctx + ": key '" + name + "' appears twice");
    out.emplace_back(std::move(name), value->tensor);
  }
  return out;
}

// Adds what an Unpickler and its resolver cost to `cost` however reading ends.
template <typename Resolver>
class CostReport {
 public:
  CostReport(ReadCost* cost, const Unpickler& u, const Resolver& r) : cost_(cost), u_(u), r_(r) {}
  ~CostReport() {
    if (!cost_) return;
    cost_->pickle_values += u_.stats().values;
    cost_->bytes_copied += u_.stats().bytes_copied;
    cost_->bytes_hashed += u_.stats().bytes_hashed;
    cost_->storage_bytes += r_.storage_bytes;
  }
  CostReport(const CostReport&) = delete;
  CostReport& operator=(const CostReport&) = delete;

 private:
  ReadCost* cost_;
  const Unpickler& u_;
  const Resolver& r_;
};

// ---- zip container (torch.save since 1.6, torch::pickle_save) ---------------

struct FileDescriptor {
  FileDescriptor(const std::string& path, const std::string& ctx) : fd(open(path.c_str(), O_RDONLY | O_CLOEXEC)) {
    if (fd < 0) throw Error(ctx + ": cannot open: " + std::strerror(errno));
  }
  ~FileDescriptor() { close(fd); }
  FileDescriptor(const FileDescriptor&) = delete;
  FileDescriptor& operator=(const FileDescriptor&) = delete;
  const int fd;
};

// A stored record's bytes mapped from the file, copy-on-write: the page cache
// holds them, not the heap, and a tensor's pages leave the process with it
// (a model loading a checkpoint never holds both whole).
at::Tensor map_record(int fd, const ZipEntry& entry, at::ScalarType dtype, int64_t numel) {
  static const uint64_t kPage = static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
  const uint64_t start = entry.data_offset / kPage * kPage;
  const size_t length = static_cast<size_t>(entry.data_offset - start) + static_cast<size_t>(numel) * c10::elementSize(dtype);
  void* base = mmap(nullptr, length, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, static_cast<off_t>(start));
  if (base == MAP_FAILED) throw Error(std::string("cannot map a record: ") + std::strerror(errno));
  char* data = static_cast<char*>(base) + (entry.data_offset - start);
  return at::from_blob(data, {numel}, [base, length](void*) { munmap(base, length); }, at::TensorOptions().dtype(dtype));
}

class ZipResolver : public TorchResolver {
 public:
  // `records`: the archive's stored records by name below its top folder.
  ZipResolver(int fd, const std::unordered_map<std::string, ZipEntry>& records) : fd_(fd), records_(records) {}
  uint64_t storage_bytes = 0;

 protected:
  at::Tensor load_storage(Unpickler& u, const std::string& key, at::ScalarType dtype, int64_t numel) override {
    const std::string record = "data/" + key;
    const auto it = records_.find(record);
    if (it == records_.end()) u.fail("record '" + record + "' is missing");
    const uint64_t nbytes = it->second.uncompressed_size;
    const size_t element = c10::elementSize(dtype);
    if (numel < 0 || static_cast<uint64_t>(numel) > nbytes / element)
      u.fail("record '" + record + "' holds " + std::to_string(nbytes) + " bytes, too few for " +
             std::to_string(numel) + " elements");
    storage_bytes += nbytes;
    if (numel == 0) return at::empty({0}, at::TensorOptions().dtype(dtype));
    return map_record(fd_, it->second, dtype, numel);
  }

 private:
  int fd_;
  const std::unordered_map<std::string, ZipEntry>& records_;
};

std::string read_record(caffe2::serialize::PyTorchStreamReader& reader, const std::string& name) {
  auto [data, size] = reader.getRecord(name);
  return std::string(static_cast<const char*>(data.get()), size);
}

// What the archive's directory says of the records reskit reads, checked
// before LibTorch's reader inflates any: torch.save stores them uncompressed,
// and a compressed one could inflate to any size (a 3 MB file to 3 GiB), so
// none is read; the format version must be a number, which LibTorch's reader
// parses unchecked. Other records (a TorchScript archive's code) are never read.
bool read_by_reskit(const std::string& name) {
  const auto ends_with = [&](const char* tail) {
    const size_t n = std::strlen(tail);
    return name.size() >= n && name.compare(name.size() - n, n, tail) == 0;
  };
  return ends_with("data.pkl") || ends_with("version") || ends_with("byteorder") || name.find("data/") != std::string::npos;
}

// Returns the stored records reskit reads, by name below the archive's top
// folder (the first record's, as LibTorch's reader takes it).
std::unordered_map<std::string, ZipEntry> check_zip_records(const std::string& path, const std::string& ctx) {
  std::unordered_map<std::string, ZipEntry> records;
  const std::vector<ZipEntry> entries = read_zip_directory(path, ctx);
  const std::string top = entries.empty() ? "" : entries[0].name.substr(0, entries[0].name.find('/') + 1);
  for (const ZipEntry& e : entries) {
    if (!read_by_reskit(e.name)) continue;
    if (e.method != 0)
      throw Error(ctx + ": record '" + e.name.substr(0, 200) + "' is compressed (zip method " +
                  std::to_string(e.method) + "); torch.save stores records uncompressed, so it is not read");
    if (e.compressed_size != e.uncompressed_size)
      throw Error(ctx + ": bad zip archive: stored record '" + e.name.substr(0, 200) + "' has two sizes");
    if (!top.empty() && e.name.compare(0, top.size(), top) == 0) records[e.name.substr(top.size())] = e;
    if (e.name != "version" && (e.name.size() < 8 || e.name.compare(e.name.size() - 8, 8, "/version") != 0)) continue;
    std::string version = read_stored_record(path, e, 32, ctx);
    while (!version.empty() && (version.back() == '\n' || version.back() == '\r')) version.pop_back();
    if (version.empty() || version.size() > 19 || version.find_first_not_of("0123456789") != std::string::npos)
      throw Error(ctx + ": bad zip archive: its '" + e.name.substr(0, 200) + "' record is not a number");
  }
  return records;
}

StateDict read_zip(const std::string& path, const std::string& ctx, ReadCost* cost) {
  const std::unordered_map<std::string, ZipEntry> records = check_zip_records(path, ctx);
  std::unique_ptr<caffe2::serialize::PyTorchStreamReader> reader;
  try {
    reader = std::make_unique<caffe2::serialize::PyTorchStreamReader>(path);
  } catch (const c10::Error& e) {
    static const std::string kPrefix = "PytorchStreamReader failed reading zip archive: ";
    std::string what = first_line(e.what_without_backtrace());
    if (what.compare(0, kPrefix.size(), kPrefix) == 0) what.erase(0, kPrefix.size());
    // LibTorch 2.x follows miniz's reason with sentences of advice; the reason is enough.
    what = what.substr(0, what.find(". "));
    throw Error(ctx + ": bad zip archive: " + what);
  }
  if (reader->hasRecord("constants.pkl"))
    throw Error(ctx + ": is a TorchScript archive (torch.jit.save), not a state dict");
  if (!reader->hasRecord("data.pkl")) throw Error(ctx + ": zip archive without data.pkl, not a PyTorch checkpoint");
  if (reader->hasRecord("byteorder") && read_record(*reader, "byteorder") != "little")
    throw Error(ctx + ": saved with big-endian byte order, which is not supported");
  std::string pickle = read_record(*reader, "data.pkl");
  const FileDescriptor file(path, ctx);
  ZipResolver resolver(file.fd, records);
  Unpickler u(ctx, resolver);
  const CostReport<ZipResolver> report(cost, u, resolver);
  if (cost) cost->bytes_copied += pickle.size();
  size_t end = 0;
  const PickleValue& top = u.load(pickle.data(), pickle.size(), 0, &end);
  return to_state_dict(top, ctx);
}

// ---- legacy stream (_use_new_zipfile_serialization=False) ------------------
// Pickles one after another: magic number, protocol version, sys_info, the
// object, the list of storage keys; then per key an int64 element count and
// the raw little-endian elements.

class LegacyResolver : public TorchResolver {
 public:
  explicit LegacyResolver(size_t file_size) : budget_(file_size) {}
  uint64_t storage_bytes = 0;

  // Copies the bytes for storage `key` from data[*pos]; advances *pos.
  void fill(Unpickler& u, const std::string& key, const std::string& data, size_t* pos) {
    auto it = slots_.find(key);
    if (it == slots_.end()) u.fail("corrupted storage list: unknown storage '" + key + "'");
    Slot& slot = it->second;
    if (slot.filled) u.fail("corrupted storage list: storage '" + key + "' listed twice");
    if (data.size() - *pos < 8) u.fail("file is truncated");
    int64_t numel = 0;
    for (int i = 7; i >= 0; --i) numel = static_cast<int64_t>((static_cast<uint64_t>(numel) << 8) |
                                                             static_cast<uint8_t>(data[*pos + i]));
    *pos += 8;
    if (numel != slot.tensor.numel())
      u.fail("corrupted storage '" + key + "': " + std::to_string(numel) + " elements, expected " +
             std::to_string(slot.tensor.numel()));
    size_t nbytes = static_cast<size_t>(numel) * slot.tensor.element_size();
    if (data.size() - *pos < nbytes) u.fail("file is truncated");
    if (nbytes) std::memcpy(slot.tensor.data_ptr(), data.data() + *pos, nbytes);
    *pos += nbytes;
    slot.filled = true;
  }

  void check_filled(Unpickler& u) const {
    for (const auto& [key, slot] : slots_)
      if (!slot.filled) u.fail("storage '" + key + "' has no data");
  }

 protected:
  // The data comes after the object, so storages are allocated now and filled
  // later; their total is capped by the file size, so a corrupted count
  // cannot allocate more than the file could hold.
  at::Tensor load_storage(Unpickler& u, const std::string& key, at::ScalarType dtype, int64_t numel) override {
    uint64_t nbytes = static_cast<uint64_t>(numel) * c10::elementSize(dtype);
    if (static_cast<uint64_t>(numel) > budget_ || nbytes > budget_)
      u.fail("corrupted pickle: storage '" + key + "' is larger than the file");
    budget_ -= nbytes;
    storage_bytes += nbytes;
    at::Tensor t = at::empty({numel}, at::TensorOptions().dtype(dtype));
    slots_.emplace(key, Slot{t, false});
    return t;
  }

 private:
  struct Slot {
    at::Tensor tensor;
    bool filled;
  };
  uint64_t budget_;
  std::unordered_map<std::string, Slot> slots_;
};

bool is_legacy_magic(const PickleValue& v) {
  // 0x1950a86a20f9469cfc6c as LONG1 writes it: little-endian, 10 bytes.
  static const std::string kMagic("\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19", 10);
  return v.is(Kind::BigInt) && v.text == kMagic;
}

StateDict read_legacy(const std::string& data, const std::string& ctx, ReadCost* cost) {
  LegacyResolver resolver(data.size());
  Unpickler u(ctx, resolver);
  const CostReport<LegacyResolver> report(cost, u, resolver);
  size_t pos = 0;
  if (!is_legacy_magic(u.load(data.data(), data.size(), pos, &pos)))
    throw Error(ctx + ": a pickle but not a PyTorch checkpoint (no torch.save magic number)");
  const PickleValue& protocol = u.load(data.data(), data.size(), pos, &pos);
  if (!protocol.is(Kind::Int) || protocol.integer != 1001)
    throw Error(ctx + ": unsupported legacy checkpoint protocol");
  const PickleValue& sys_info = u.load(data.data(), data.size(), pos, &pos);
  const PickleValue* little = sys_info.find("little_endian");
  if (!little || !little->is(Kind::Bool)) throw Error(ctx + ": corrupted legacy header");
  if (!little->boolean) throw Error(ctx + ": saved on a big-endian machine, which is not supported");
  const PickleValue& top = u.load(data.data(), data.size(), pos, &pos);
  const PickleValue& keys = u.load(data.data(), data.size(), pos, &pos);
  if (!keys.is(Kind::List)) throw Error(ctx + ": corrupted storage list");
  for (const PickleValue* key : keys.items) {
    if (!key->is(Kind::String)) throw Error(ctx + ": corrupted storage list");
    resolver.fill(u, key->text, data, &pos);
  }
  resolver.check_filled(u);
  return to_state_dict(top, ctx);
}

// ---- dispatch ----------------------------------------------------------------

StateDict read_any(const std::string& path, const std::string& ctx, ReadCost* cost) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) throw Error(ctx + ": is a directory");
  if (std::filesystem::exists(path, ec) && !std::filesystem::is_regular_file(path, ec))
    throw Error(ctx + ": not a regular file");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(ctx + ": cannot open: " + std::strerror(errno));
  if (cost) cost->file_bytes = std::filesystem::file_size(path, ec);
  char head[2] = {0, 0};
  in.read(head, 2);
  std::streamsize got = in.gcount();
  if (got == 0) throw Error(ctx + ": file is empty");
  if (got == 2 && head[0] == 'P' && head[1] == 'K') {
    in.close();
    return read_zip(path, ctx, cost);
  }
  if (static_cast<uint8_t>(head[0]) != 0x80)
    throw Error(ctx + ": not a PyTorch checkpoint (neither a zip archive nor a pickle)");
  in.seekg(0, std::ios::end);
  std::string all(static_cast<size_t>(in.tellg()), '\0');
  in.seekg(0);
  in.read(all.data(), static_cast<std::streamsize>(all.size()));
  if (!in) throw Error(ctx + ": read failed");
  if (cost) cost->bytes_copied += all.size();
  return read_legacy(all, ctx, cost);
}

}  // namespace

StateDict read_state_dict(const std::string& path, ReadCost* cost) {
  const std::string ctx = "checkpoint '" + path + "'";
  if (!host_is_little_endian()) throw Error(ctx + ": reading checkpoints needs a little-endian machine");
  // Whatever the layers below throw becomes one reskit::Error line.
  try {
    return read_any(path, ctx, cost);
  } catch (const Error&) {
    throw;
  } catch (const c10::Error& e) {
    throw Error(ctx + ": " + first_line(e.what_without_backtrace()));
  } catch (const std::bad_alloc&) {
    throw Error(ctx + ": out of memory");
  } catch (const std::exception& e) {
    throw Error(ctx + ": " + first_line(e.what()));
  }
}

}  // namespace reskit::io
