#include "reskit/io/npy.h"

#include <ATen/ATen.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <optional>

#include "reskit/core/error.h"
#include "reskit/core/memory.h"
#include "reskit/core/text_format.h"
#include "reskit/io/atomic_file.h"

namespace reskit::io {
namespace {

constexpr char kMagic[] = "\x93NUMPY";
constexpr size_t kMagicSize = 6;
// numpy's own limit (np.load's max_header_size) for a file it does not trust.
constexpr size_t kMaxHeader = 10000;
// numpy's NPY_MAXDIMS.
constexpr size_t kMaxDims = 32;
// Far above any real tensor the CLI sees, and keeps numel * 8 from overflowing.
constexpr int64_t kMaxElements = int64_t{1} << 34;

[[noreturn]] void fail(const std::string& name, const std::string& what) { throw Error("'" + name + "': " + what); }

struct Header {
  std::string descr;
  std::optional<bool> fortran_order;
  std::optional<std::vector<int64_t>> shape;
  bool has_descr = false;
};

// The header's dict literal as numpy writes it,
//   {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3, 4), }
// read as Python's literal_eval would (a repeated key keeps its last value),
// but only these forms: string keys, and string, True/False or int-tuple
// values. One pass, no backtracking, no recursion.
class HeaderReader {
 public:
  HeaderReader(const std::string& text, const std::string& name) : s_(text), name_(name) {}

  Header read() {
    Header h;
    expect('{');
    for (skip(); !at('}'); skip()) {
      const std::string key = string();
      skip();
      expect(':');
      skip();
      if (key == "descr") {
        if (!at('\'') && !at('"')) bad("'descr' is not a string (structured dtypes are not supported)");
        h.descr = string();
        h.has_descr = true;
      } else if (key == "fortran_order") {
        if (word("True"))
          h.fortran_order = true;
        else if (word("False"))
          h.fortran_order = false;
        else
          bad("'fortran_order' must be True or False");
      } else if (key == "shape") {
        h.shape = tuple();
      } else {
        skip_value();
      }
      skip();
      if (!at(',')) break;
      ++pos_;
    }
    skip();
    expect('}');
    return h;
  }

 private:
  [[noreturn]] void bad(const std::string& what) const {
    fail(name_, "malformed .npy header: " + what + " at byte " + std::to_string(pos_));
  }
  bool at(char c) const { return pos_ < s_.size() && s_[pos_] == c; }
  void skip() {
    while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\t' || s_[pos_] == '\n' || s_[pos_] == '\r')) ++pos_;
  }
  void expect(char c) {
    if (!at(c)) bad(std::string("expected '") + c + "'");
    ++pos_;
  }
  bool word(const char* w) {
    const size_t n = std::strlen(w);
    if (s_.compare(pos_, n, w) != 0) return false;
    pos_ += n;
    return true;
  }
  // 'text' or "text"; numpy's keys and dtypes need no escapes, so a backslash is refused.
  std::string string() {
    if (!at('\'') && !at('"')) bad("expected a string");
    const char quote = s_[pos_++];
    const size_t begin = pos_;
    while (pos_ < s_.size() && s_[pos_] != quote) {
      if (s_[pos_] == '\\') bad("escapes are not supported");
      ++pos_;
    }
    if (pos_ >= s_.size()) bad("unterminated string");
    return s_.substr(begin, pos_++ - begin);
  }
  // (2, 3, 4), (5,), (): non-negative ints, Python 2's 2L allowed.
  std::vector<int64_t> tuple() {
    expect('(');
    std::vector<int64_t> dims;
    for (skip(); !at(')'); skip()) {
      if (dims.size() == kMaxDims) bad("more than numpy's " + std::to_string(kMaxDims) + " dimensions");
      const size_t begin = pos_;
      int64_t v = 0;
      while (pos_ < s_.size() && s_[pos_] >= '0' && s_[pos_] <= '9') {
        if (v > (kMaxElements - 9) / 10) bad("dimension too large");
        v = v * 10 + (s_[pos_++] - '0');
      }
      if (pos_ == begin) bad("expected a dimension");
      if (at('L')) ++pos_;
      dims.push_back(v);
      skip();
      if (!at(',')) break;
      ++pos_;
    }
    expect(')');
    return dims;
  }
  // A value of a key numpy does not write: a string, a word or a tuple.
  void skip_value() {
    if (at('\'') || at('"')) {
      string();
    } else if (at('(')) {
      tuple();
    } else if (!word("True") && !word("False") && !word("None")) {
      bad("unsupported value");
    }
  }

  const std::string& s_;
  const std::string& name_;
  size_t pos_ = 0;
};

// Where the header is: its length and where it starts, from the first bytes.
struct Preamble {
  size_t header_len = 0, header_offset = 0;
};

Preamble read_preamble(const char* bytes, size_t size, const std::string& name) {
  if (size < kMagicSize + 4 || std::memcmp(bytes, kMagic, kMagicSize) != 0) fail(name, "not a .npy file");
  const auto byte = [&](size_t i) { return static_cast<size_t>(static_cast<unsigned char>(bytes[i])); };
  const size_t major = byte(6);
  Preamble p;
  if (major == 1) {
    p.header_len = byte(8) | (byte(9) << 8);
    p.header_offset = 10;
  } else if (major == 2 || major == 3) {
    if (size < 12) fail(name, "truncated .npy header");
    for (size_t i = 0; i < 4; ++i) p.header_len |= byte(8 + i) << (8 * i);
    p.header_offset = 12;
  } else {
    fail(name, "unsupported .npy format version " + std::to_string(major));
  }
  if (p.header_len > kMaxHeader)
    fail(name, "header of " + std::to_string(p.header_len) + " bytes is larger than numpy's limit of " +
                   std::to_string(kMaxHeader) + " for files it does not trust");
  return p;
}

struct Layout {
  std::vector<int64_t> shape;
  at::ScalarType dtype;
  size_t data_bytes;
};

Layout layout_of(const std::string& header_text, const std::string& name) {
  const Header h = HeaderReader(header_text, name).read();
  if (!h.has_descr) fail(name, "malformed .npy header (no 'descr')");
  if (!h.fortran_order) fail(name, "malformed .npy header (no 'fortran_order')");
  if (!h.shape) fail(name, "malformed .npy header (no 'shape')");
  Layout l;
  size_t item_size = 0;
  if (h.descr == "<f4") {
    item_size = 4;
    l.dtype = at::kFloat;
  } else if (h.descr == "<f8") {
    item_size = 8;
    l.dtype = at::kDouble;
  } else {
    fail(name, "unsupported dtype '" + h.descr + "' (reskit reads <f4 and <f8)");
  }
  if (*h.fortran_order) fail(name, "Fortran-order arrays are not supported (save with C order)");
  int64_t numel = 1;
  for (int64_t d : *h.shape) {
    if (d != 0 && numel > kMaxElements / d) fail(name, "tensor of shape " + python_tuple(*h.shape) + " is too large");
    numel *= d;
  }
  l.shape = *h.shape;
  l.data_bytes = static_cast<size_t>(numel) * item_size;
  return l;
}

// Reading holds the data, and for float64 its float32 copy too.
void check_memory(const Layout& l, const std::string& name) {
  const uint64_t needed = l.dtype == at::kDouble ? l.data_bytes + l.data_bytes / 2 : l.data_bytes;
  const uint64_t available = available_memory_bytes();
  if (needed > available)
    fail(name, "its data needs " + gigabytes_text(needed) + " of memory, more than the " + gigabytes_text(available) +
                   " available");
}

void check_data_size(const Layout& l, size_t found, const std::string& name) {
  const std::string expected = std::to_string(l.data_bytes);
  if (found < l.data_bytes)
    fail(name, "truncated: expected " + expected + " bytes of data, found " + std::to_string(found));
  if (found > l.data_bytes)
    fail(name, "trailing bytes: expected " + expected + " bytes of data, found " + std::to_string(found));
}

}  // namespace

at::Tensor parse_npy(const std::string& bytes, const std::string& name) {
  const Preamble p = read_preamble(bytes.data(), bytes.size(), name);
  if (p.header_len > bytes.size() - p.header_offset) fail(name, "truncated .npy header");
  const Layout l = layout_of(bytes.substr(p.header_offset, p.header_len), name);
  const size_t data_offset = p.header_offset + p.header_len;
  check_data_size(l, bytes.size() - data_offset, name);
  at::Tensor out = at::empty(l.shape, l.dtype);
  if (l.data_bytes) std::memcpy(out.data_ptr(), bytes.data() + data_offset, l.data_bytes);
  return out.to(at::kFloat);
}

// Reads no more than the header says the file holds: the size is known from
// the file system before any data is read, so /dev/zero or a FIFO cannot
// make it read without end.
at::Tensor read_npy(const std::string& path, bool keep_float64) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) fail(path, std::string("cannot open: ") + std::strerror(errno));
  if (!S_ISREG(st.st_mode)) fail(path, "not a regular file");
  const size_t size = static_cast<size_t>(st.st_size);
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(path, std::string("cannot open: ") + std::strerror(errno));
  char start[12] = {};
  in.read(start, sizeof start);
  const Preamble p = read_preamble(start, static_cast<size_t>(in.gcount()), path);
  if (p.header_len > size - p.header_offset) fail(path, "truncated .npy header");
  std::string header(p.header_len, '\0');
  in.seekg(static_cast<std::streamoff>(p.header_offset));
  in.read(header.data(), static_cast<std::streamsize>(header.size()));
  if (!in) fail(path, "truncated .npy header");
  const Layout l = layout_of(header, path);
  check_data_size(l, size - p.header_offset - p.header_len, path);
  check_memory(l, path);
  at::Tensor out = at::empty(l.shape, l.dtype);
  in.read(static_cast<char*>(out.data_ptr()), static_cast<std::streamsize>(l.data_bytes));
  if (static_cast<size_t>(in.gcount()) != l.data_bytes) fail(path, "read failed: the file changed while being read");
  return keep_float64 ? out : out.to(at::kFloat);
}

void write_npy(std::ostream& out, const at::Tensor& tensor) {
  at::Tensor t = tensor.detach().to(at::kCPU).to(at::kFloat).contiguous();
  std::string shape = "(";
  for (int64_t i = 0; i < t.dim(); ++i) shape += std::to_string(t.size(i)) + (t.dim() == 1 ? "," : i + 1 < t.dim() ? ", " : "");
  shape += ")";
  std::string header = "{'descr': '<f4', 'fortran_order': False, 'shape': " + shape + ", }";
  // Pad with spaces so the data starts on a 64-byte boundary, newline last.
  const size_t unpadded = kMagicSize + 4 + header.size() + 1;
  header.append((64 - unpadded % 64) % 64, ' ');
  header.push_back('\n');
  out.write(kMagic, kMagicSize);
  const char version[2] = {1, 0};
  out.write(version, 2);
  const uint16_t len = static_cast<uint16_t>(header.size());
  const char len_bytes[2] = {static_cast<char>(len & 0xff), static_cast<char>(len >> 8)};
  out.write(len_bytes, 2);
  out << header;
  out.write(static_cast<const char*>(t.data_ptr()), static_cast<std::streamsize>(t.numel() * sizeof(float)));
}

void save_npy(const std::string& path, const at::Tensor& tensor) {
  AtomicFile file(path);
  write_npy(file.stream(), tensor);
  file.commit();
}

}  // namespace reskit::io
