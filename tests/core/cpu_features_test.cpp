// The ISA reskit detects is the one the kernel reports for this CPU.
#include <gtest/gtest.h>

#include <fstream>
#include <iterator>
#include <set>
#include <sstream>

#include "reskit/core/cpu_features.h"

namespace reskit {
namespace {

std::set<std::string> proc_flags() {
  std::ifstream in("/proc/cpuinfo");
  for (std::string line; std::getline(in, line);)
    if (line.rfind("flags", 0) == 0) {
      std::istringstream words(line.substr(line.find(':') + 1));
      return {std::istream_iterator<std::string>(words), std::istream_iterator<std::string>()};
    }
  return {};
}

TEST(CpuFeatures, AgreeWithTheKernelsFlags) {
  const std::set<std::string> flags = proc_flags();
  if (flags.empty()) GTEST_SKIP() << "no /proc/cpuinfo flags here";
  const CpuFeatures& f = cpu_features();
  EXPECT_EQ(f.avx2, flags.count("avx2") > 0);
  EXPECT_EQ(f.fma, flags.count("fma") > 0);
  EXPECT_EQ(f.avx512f, flags.count("avx512f") > 0);
  EXPECT_EQ(f.avx512_vnni, flags.count("avx512_vnni") > 0);
  EXPECT_EQ(f.amx_tile, flags.count("amx_tile") > 0);
  const std::string isa = cpu_isa_name(f);
  if (flags.count("amx_tile") && flags.count("amx_bf16") && flags.count("avx512bw"))
    EXPECT_EQ(isa, "avx512_core_amx");
  else if (flags.count("avx512f") && flags.count("avx512bw") && flags.count("avx512vl"))
    EXPECT_EQ(isa.rfind("avx512_core", 0), 0u) << isa;
  else if (flags.count("avx2") && flags.count("fma"))
    EXPECT_EQ(isa, "avx2");
}

}  // namespace
}  // namespace reskit
