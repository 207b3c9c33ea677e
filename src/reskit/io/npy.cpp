#include "reskit/io/npy.h"

#include <ATen/ATen.h>

#include <cstring>
#include <fstream>
#include <regex>
#include <sstream>

#include "reskit/core/error.h"
#include "reskit/io/atomic_file.h"

namespace reskit::io {
namespace {

constexpr char kMagic[] = "\x93NUMPY";
constexpr size_t kMagicSize = 6;
// Far above any real tensor the CLI sees, and keeps numel * 8 from overflowing.
constexpr int64_t kMaxElements = int64_t{1} << 34;

[[noreturn]] void fail(const std::string& name, const std::string& what) {
  throw Error("'" + name + "': " + what);
}

std::string header_field(const std::string& header, const std::string& key, const std::string& name) {
  std::smatch m;
  std::regex re("['\"]" + key + "['\"]\\s*:\\s*(\\([^)]*\\)|'[^']*'|\"[^\"]*\"|True|False)");
  if (!std::regex_search(header, m, re)) fail(name, "malformed .npy header (no '" + key + "')");
  return m[1];
}

std::vector<int64_t> parse_shape(const std::string& text, const std::string& name) {
  std::vector<int64_t> shape;
  std::string inner = text.substr(1, text.size() - 2);
  std::stringstream in(inner);
  std::string item;
  int64_t numel = 1;
  while (std::getline(in, item, ',')) {
    size_t b = item.find_first_not_of(" \t"), e = item.find_last_not_of(" \t");
    if (b == std::string::npos) continue;  // the trailing comma of a 1-tuple
    item = item.substr(b, e - b + 1);
    if (item.empty() || item.size() > 12 || item.find_first_not_of("0123456789") != std::string::npos)
      fail(name, "malformed .npy shape " + text);
    int64_t d = std::stoll(item);
    if (d != 0 && numel > kMaxElements / d) fail(name, "tensor of shape " + text + " is too large");
    numel *= d;
    shape.push_back(d);
  }
  return shape;
}

}  // namespace

at::Tensor parse_npy(const std::string& bytes, const std::string& name) {
  if (bytes.size() < kMagicSize + 4 || std::memcmp(bytes.data(), kMagic, kMagicSize) != 0)
    fail(name, "not a .npy file");
  const int major = static_cast<unsigned char>(bytes[6]);
  size_t header_len = 0, offset = 0;
  if (major == 1) {
    header_len = static_cast<unsigned char>(bytes[8]) | (static_cast<unsigned char>(bytes[9]) << 8);
    offset = 10;
  } else if (major == 2 || major == 3) {
    if (bytes.size() < 12) fail(name, "truncated .npy header");
    header_len = 0;
    for (int i = 0; i < 4; ++i) header_len |= size_t(static_cast<unsigned char>(bytes[8 + i])) << (8 * i);
    offset = 12;
  } else {
    fail(name, "unsupported .npy format version " + std::to_string(major));
  }
  if (header_len > bytes.size() - offset) fail(name, "truncated .npy header");
  const std::string header = bytes.substr(offset, header_len);
  offset += header_len;

  const std::string descr = header_field(header, "descr", name);
  const std::string dtype = descr.substr(1, descr.size() - 2);
  size_t item_size = 0;
  if (dtype == "<f4") item_size = 4;
  else if (dtype == "<f8") item_size = 8;
  else fail(name, "unsupported dtype '" + dtype + "' (reskit reads <f4 and <f8)");
  if (header_field(header, "fortran_order", name) != "False")
    fail(name, "Fortran-order arrays are not supported (save with C order)");
  const std::string shape_text = header_field(header, "shape", name);
  if (shape_text.front() != '(') fail(name, "malformed .npy shape " + shape_text);
  const std::vector<int64_t> shape = parse_shape(shape_text, name);

  int64_t numel = 1;
  for (int64_t d : shape) numel *= d;
  const size_t expected = size_t(numel) * item_size;
  const size_t found = bytes.size() - offset;
  if (found < expected)
    fail(name, "truncated: expected " + std::to_string(expected) + " bytes of data, found " + std::to_string(found));
  if (found > expected)
    fail(name, "trailing bytes: expected " + std::to_string(expected) + " bytes of data, found " +
                   std::to_string(found));

  at::Tensor out = at::empty(shape, item_size == 4 ? at::kFloat : at::kDouble);
  if (expected) std::memcpy(out.data_ptr(), bytes.data() + offset, expected);
  return out.to(at::kFloat);
}

at::Tensor read_npy(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(path, std::string("cannot open: ") + std::strerror(errno));
  std::stringstream buffer;
  buffer << in.rdbuf();
  return parse_npy(buffer.str(), path);
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
