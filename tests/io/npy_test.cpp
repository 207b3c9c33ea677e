// .npy reading and writing: numpy's files in, numpy reads ours back.
#include <gtest/gtest.h>
#include <ATen/ATen.h>

#include <filesystem>
#include <random>
#include <sstream>

#include "reskit/core/error.h"
#include "reskit/io/npy.h"
#include "test_util.h"

namespace reskit {
namespace {

std::string npy(const std::string& name) { return test::fixture("npy/" + name); }

std::string error_of(const std::string& path) {
  try {
    io::read_npy(path);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

at::Tensor expected_f4() {
  std::istringstream in(test::read_text(npy("expected_f4.txt")));
  std::vector<float> values;
  for (double v; in >> v;) values.push_back(static_cast<float>(v));
  return at::tensor(values).view({2, 3, 4});
}

TEST(Npy, ReadsFloat32Exactly) {
  at::Tensor t = io::read_npy(npy("f4.npy"));
  EXPECT_EQ(t.scalar_type(), at::kFloat);
  EXPECT_TRUE(t.equal(expected_f4()));
}

TEST(Npy, ReadsFloat64AsFloat32) { EXPECT_TRUE(io::read_npy(npy("f8.npy")).equal(expected_f4())); }

TEST(Npy, ReadsVersion2Header) { EXPECT_TRUE(io::read_npy(npy("v2.npy")).equal(expected_f4())); }

TEST(Npy, ReadsScalarVectorAndEmpty) {
  EXPECT_EQ(io::read_npy(npy("scalar.npy")).dim(), 0);
  EXPECT_EQ(io::read_npy(npy("scalar.npy")).item<float>(), 3.5f);
  EXPECT_TRUE(io::read_npy(npy("vector.npy")).equal(at::arange(5, at::kFloat)));
  EXPECT_EQ(io::read_npy(npy("empty.npy")).sizes(), (std::vector<int64_t>{0, 3}));
}

TEST(Npy, RejectsOtherDtypesWithOneLine) {
  EXPECT_EQ(error_of(npy("i8.npy")), "'" + npy("i8.npy") + "': unsupported dtype '<i8' (reskit reads <f4 and <f8)");
  EXPECT_EQ(error_of(npy("f4_big_endian.npy")),
            "'" + npy("f4_big_endian.npy") + "': unsupported dtype '>f4' (reskit reads <f4 and <f8)");
  EXPECT_EQ(error_of(npy("fortran.npy")),
            "'" + npy("fortran.npy") + "': Fortran-order arrays are not supported (save with C order)");
}

TEST(Npy, RejectsBrokenFiles) {
  EXPECT_EQ(error_of(npy("truncated.npy")),
            "'" + npy("truncated.npy") + "': truncated: expected 96 bytes of data, found 89");
  EXPECT_EQ(error_of(npy("trailing.npy")),
            "'" + npy("trailing.npy") + "': trailing bytes: expected 96 bytes of data, found 100");
  EXPECT_EQ(error_of(npy("header_cut.npy")), "'" + npy("header_cut.npy") + "': truncated .npy header");
  EXPECT_EQ(error_of(npy("not_npy.npy")), "'" + npy("not_npy.npy") + "': not a .npy file");
  EXPECT_EQ(error_of(npy("missing.npy")), "'" + npy("missing.npy") + "': cannot open: No such file or directory");
}

TEST(Npy, RoundTripThroughNumpy) {
  const std::string dir = test::temp_dir("npy_roundtrip");
  at::manual_seed(3);
  at::Tensor t = at::randn({3, 1, 5});
  io::save_npy(dir + "/t.npy", t.transpose(0, 2));  // non-contiguous in, C order out
  EXPECT_TRUE(io::read_npy(dir + "/t.npy").equal(t.transpose(0, 2).contiguous()));
  auto r = test::run_python("import numpy as np\na = np.load('" + dir +
                            "/t.npy')\nprint(a.dtype, a.shape, a.flags['C_CONTIGUOUS'])\n");
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "float32 (5, 1, 3) True\n");
  std::filesystem::remove_all(dir);
}

// Every truncation and many byte flips of a valid file: a value or an error, never a crash.
TEST(Npy, MutatedFilesNeverCrash) {
  const std::string good = test::read_text(npy("f4.npy"));
  std::mt19937 rng(7);
  int errors = 0;
  for (size_t cut = 0; cut < good.size(); ++cut) {
    try {
      io::parse_npy(good.substr(0, cut), "cut");
    } catch (const Error&) {
      ++errors;
    }
  }
  EXPECT_EQ(errors, static_cast<int>(good.size()));
  for (int i = 0; i < 3000; ++i) {
    std::string bytes = good;
    const int flips = 1 + static_cast<int>(rng() % 4);
    for (int f = 0; f < flips; ++f) bytes[rng() % 128] = static_cast<char>(rng());
    try {
      io::parse_npy(bytes, "mutant");
    } catch (const Error&) {
    }
  }
}

}  // namespace
}  // namespace reskit
