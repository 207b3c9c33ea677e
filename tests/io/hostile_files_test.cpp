// Files made to hurt the readers, each a regression test for a bug once
// found with it: they give one-line errors (or what numpy gives), and what
// reading them costs is counted and bounded by their size, not timed.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "reskit/core/error.h"
#include "reskit/io/checkpoint.h"
#include "reskit/io/npy.h"
#include "reskit/io/pickle_reader.h"
#include "test_util.h"

namespace reskit {
namespace {

// ---- bytes ---------------------------------------------------------------------

std::string le(uint64_t v, int bytes) {
  std::string s;
  for (int i = 0; i < bytes; ++i) s += static_cast<char>((v >> (8 * i)) & 0xff);
  return s;
}

std::string npy_file(int major, const std::string& header, const std::string& data = "") {
  return std::string("\x93NUMPY", 6) + static_cast<char>(major) + '\0' + le(header.size(), major == 1 ? 2 : 4) +
         header + data;
}

std::string write_file(const std::string& name, const std::string& bytes) {
  static const std::string dir = test::temp_dir("hostile");  // made once: a second call would empty it
  const std::string path = dir + "/" + name;
  std::ofstream(path, std::ios::binary) << bytes;
  return path;
}

std::string npy_error(const std::string& bytes) {
  try {
    io::parse_npy(bytes, "f.npy");
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

// pickle opcodes
std::string unicode(const std::string& s) { return "X" + le(s.size(), 4) + s; }
const std::string kProto = "\x80\x04", kStop = ".", kNone = "N", kPop = "0", kEmptyDict = "}", kEmptyTuple = ")";
const std::string kSetItem = "s", kReduce = "R", kStackGlobal = "\x93";
std::string put(int i) { return "q" + std::string(1, static_cast<char>(i)); }
std::string get(int i) { return "h" + std::string(1, static_cast<char>(i)); }

// Knows no global: everything foreign stays a placeholder.
class NoGlobals : public io::PickleResolver {
 public:
  bool accepts(const std::string&, const std::string&) const override { return false; }
  io::PickleValue* call(io::Unpickler& u, const std::string&, const io::PickleValue&) override { u.fail("call"); }
  io::PickleValue* persistent_load(io::Unpickler& u, const io::PickleValue&) override { u.fail("persistent id"); }
};

io::Unpickler::Stats unpickle(const std::string& pickle) {
  NoGlobals resolver;
  io::Unpickler u("hostile", resolver);
  size_t end = 0;
  u.load(pickle.data(), pickle.size(), 0, &end);
  EXPECT_EQ(end, pickle.size());
  return u.stats();
}

// ---- .npy ------------------------------------------------------------------------

TEST(HostileNpy, LongHeadersAreRefusedAsNumpyDoes) {
  // v1 allows 65,535 header bytes, v2 4 GB; the old regex parser overflowed the stack at ~26 KB.
  const std::string v1 = npy_file(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }" + std::string(65478, ' '));
  EXPECT_EQ(npy_error(v1),
            "'f.npy': header of 65535 bytes is larger than numpy's limit of 10000 for files it does not trust");
  const std::string v2 = npy_file(2, "{'descr': '" + std::string(10 << 20, 'f') + "', 'fortran_order': False, 'shape': (), }");
  EXPECT_EQ(npy_error(v2), "'f.npy': header of 10485812 bytes is larger than numpy's limit of 10000 for files it does "
                           "not trust");
  // The same from disk: the header is never read.
  const std::string path = write_file("long.npy", v2);
  try {
    io::read_npy(path);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), "'" + path + "': header of 10485812 bytes is larger than numpy's limit of 10000 "
                                     "for files it does not trust");
  }
  // numpy itself refuses both.
  const auto r = test::run_python("import numpy as np\nfor f in ['" + write_file("v1.npy", v1) + "', '" + path +
                                  "']:\n    try:\n        np.load(f)\n        print('loaded')\n"
                                  "    except ValueError as e:\n        print('refused')\n");
  EXPECT_EQ(r.out, "refused\nrefused\n") << r.err;
}

TEST(HostileNpy, ManyDimensionsAndOddValuesAreOneLineErrors) {
  std::string shape = "(";
  for (int i = 0; i < 33; ++i) shape += "1, ";
  EXPECT_EQ(npy_error(npy_file(1, "{'descr': '<f4', 'fortran_order': False, 'shape': " + shape + "), }")),
            "'f.npy': malformed .npy header: more than numpy's 32 dimensions at byte 147");
  EXPECT_EQ(npy_error(npy_file(1, "{'descr': '<f4', 'fortran_order': 'False', 'shape': (1,), }", "abcd")),
            "'f.npy': malformed .npy header: 'fortran_order' must be True or False at byte 34");
  EXPECT_EQ(npy_error(npy_file(1, "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,), }")),
            "'f.npy': malformed .npy header: 'descr' is not a string (structured dtypes are not supported) at byte 10");
  EXPECT_EQ(npy_error(npy_file(1, "{'descr': '<f4', 'fortran_order': False}")),
            "'f.npy': malformed .npy header (no 'shape')");
}

// A repeated key keeps its last value, as in numpy (Python's dict literal).
TEST(HostileNpy, RepeatedKeysTakeTheLastValueAsNumpyDoes) {
  const std::string bytes =
      npy_file(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'shape': (3,), }\n", std::string(12, '\0'));
  EXPECT_EQ(io::parse_npy(bytes, "dup").sizes().vec(), (std::vector<int64_t>{3}));
  const auto r = test::run_python("import numpy as np\nprint(np.load('" + write_file("dup.npy", bytes) + "').shape)\n");
  EXPECT_EQ(r.out, "(3,)\n") << r.err;
}

TEST(HostileNpy, DevicesAndFifosAreRefusedBeforeAnyRead) {
  for (const std::string path : {"/dev/zero", "/dev/null"}) {
    try {
      io::read_npy(path);
      FAIL() << path;
    } catch (const Error& e) {
      EXPECT_EQ(std::string(e.what()), "'" + path + "': not a regular file");
    }
  }
  const auto r = test::run_reskit("run resnet18 --input /dev/zero --out " + test::temp_dir("hostile_out"));
  EXPECT_EQ(r.status, 1);
  EXPECT_EQ(r.err, "reskit: '/dev/zero': not a regular file\n");
}

// ---- pickles ---------------------------------------------------------------------------

// 2,000 STACK_GLOBALs on two 1 MiB strings: each used to copy both (4 GB here;
// a 16 MiB file with 200 took 19 s and 6.7 GB). Now a foreign global refers to
// its strings, and so does what REDUCE makes of it.
TEST(HostilePickle, StackGlobalsOnLongStringsCopyNothing) {
  std::string p = kProto + unicode(std::string(1 << 20, 'm')) + put(0) + unicode(std::string(1 << 20, 'n')) + put(1);
  for (int i = 0; i < 2000; ++i) p += get(0) + get(1) + kStackGlobal + kEmptyTuple + kReduce + kPop;
  p += kNone + kStop;
  const io::Unpickler::Stats s = unpickle(p);
  EXPECT_LE(s.bytes_copied, p.size());
  EXPECT_LE(s.values, p.size());
  // Through the checkpoint reader, which refuses the file for what it is, at the same bounded cost.
  io::ReadCost cost;
  try {
    io::read_state_dict(write_file("stack_global.pt", p), &cost);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("not a PyTorch checkpoint (no torch.save magic number)"), std::string::npos);
  }
  EXPECT_EQ(cost.file_bytes, p.size());
  EXPECT_LE(cost.bytes_copied, 2 * cost.file_bytes);  // the file read once, its strings once
  EXPECT_LE(cost.pickle_values, cost.file_bytes);
}

// 20,000 SETITEMs of one 1 MiB key: each used to copy and hash the whole key
// (a 17 MiB file took 71 s). A key is interned once per value now.
TEST(HostilePickle, SetItemsOfALongKeyHashItOnce) {
  std::string p = kProto + kEmptyDict + unicode(std::string(1 << 20, 'k')) + put(0) + kPop;
  for (int i = 0; i < 20000; ++i) p += get(0) + kNone + kSetItem;
  // Distinct values with equal content: each is compared once, against the first.
  for (int i = 0; i < 8; ++i) p += unicode(std::string(1 << 20, 'k')) + kNone + kSetItem;
  p += kStop;
  const io::Unpickler::Stats s = unpickle(p);
  EXPECT_LE(s.bytes_hashed, 2 * p.size());
  EXPECT_LE(s.bytes_copied, p.size());
}

}  // namespace
}  // namespace reskit
