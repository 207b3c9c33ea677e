// Every registry family against its reference, from the cases the fixture
// scripts make (tests/reference/make_*.py with FAMILY and PARITY): reskit's
// model built with the case's --set options, the reference's weights loaded
// strictly, the same input, outputs within 1e-4 x max|reference|; the
// state-dict keys in the reference's order; legacy-format checkpoints; and,
// where a GPU is visible, the same on CUDA. A new family adds a generator
// and registry entries, not a test.
#include <gtest/gtest.h>
#include <torch/cuda.h>

#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "reskit/io/npy.h"
#include "reskit/io/state_dict.h"
#include "reskit/tasks/model_setup.h"
#include "test_util.h"

namespace reskit {
namespace {

using test::ParityCase;

constexpr double kRelTol = 1e-4;

nlohmann::json case_file(const ParityCase& c) {
  std::ifstream in(c.dir() + "/case.json");
  EXPECT_TRUE(in.good()) << "missing " << c.dir() << "/case.json: the fixture script did not make " << c.name();
  return in ? nlohmann::json::parse(in) : nlohmann::json();
}

void expect_parity(const ParityCase& c, const std::string& weights, c10::Device device = c10::kCPU) {
  const nlohmann::json written = case_file(c);
  ASSERT_FALSE(written.is_null());
  ASSERT_EQ(written["model"], c.model);
  ASSERT_EQ(written["sets"].get<std::vector<std::string>>(), c.sets);
  models::Model model = test::build(c.model, c.sets);
  io::load_state_dict(*model.module, io::read_state_dict(c.dir() + "/" + weights), true, weights);
  model.module->to(device);
  model.module->eval();
  std::vector<at::Tensor> inputs;
  for (int i = 0; i < written["inputs"].get<int>(); ++i)
    inputs.push_back(io::read_npy(c.dir() + "/input" + std::to_string(i) + ".npy").to(device));
  const std::vector<at::Tensor> outputs = tasks::run_forward(model, inputs);
  ASSERT_EQ(static_cast<int>(outputs.size()), written["outputs"].get<int>());
  for (size_t k = 0; k < outputs.size(); ++k)
    EXPECT_TRUE(test::close(outputs[k], io::read_npy(c.dir() + "/out" + std::to_string(k) + ".npy"), kRelTol))
        << c.name() << " output " << k;
}

class Parity : public ::testing::TestWithParam<ParityCase> {};

TEST_P(Parity, MatchesTheReference) { expect_parity(GetParam(), "weights.pth"); }

TEST_P(Parity, KeysAreTheReferences) {
  std::string ours;
  for (const auto& [key, tensor] : io::state_dict_of(*test::build(GetParam().model, GetParam().sets).module))
    ours += key + "\n";
  EXPECT_EQ(ours, test::read_text(GetParam().dir() + "/keys.txt"));
}

// Built against a LibTorch with CUDA on a machine with a GPU, the same cases
// run there against the same CPU-made reference.
TEST_P(Parity, MatchesTheReferenceOnCuda) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device visible to this LibTorch";
  expect_parity(GetParam(), "weights.pth", tasks::select_device("cuda"));
}

INSTANTIATE_TEST_SUITE_P(Reference, Parity, ::testing::ValuesIn(test::parity_cases()), test::CaseName());

std::vector<ParityCase> legacy_cases() {
  std::vector<ParityCase> out;
  for (const ParityCase& c : test::parity_cases())
    if (c.legacy) out.push_back(c);
  return out;
}

// The cases whose fixture also saves with _use_new_zipfile_serialization=False.
class LegacyParity : public ::testing::TestWithParam<ParityCase> {};

TEST_P(LegacyParity, LegacyCheckpointMatchesTheReference) { expect_parity(GetParam(), "weights_legacy.pth"); }

INSTANTIATE_TEST_SUITE_P(Reference, LegacyParity, ::testing::ValuesIn(legacy_cases()), test::CaseName());

TEST(ParityCases, EveryFamilyWroteExactlyTheListedCases) {
  std::map<std::string, std::set<std::string>> listed;
  for (const ParityCase& c : test::parity_cases()) listed[c.family].insert(c.id);
  ASSERT_FALSE(listed.empty()) << "tests/reference/list_cases.py listed no parity case at configure time";
  for (const auto& [family, ids] : listed) {
    std::ifstream in(test::fixture("parity/" + family + "/manifest.json"));
    ASSERT_TRUE(in.good()) << "no manifest for family " << family;
    const auto written = nlohmann::json::parse(in)["cases"].get<std::set<std::string>>();
    EXPECT_EQ(written, ids) << family << ": the fixture script and the configure-time listing disagree; reconfigure";
  }
}

TEST(ParityCases, EveryRegisteredModelHasOne) {
  std::set<std::string> covered;
  for (const ParityCase& c : test::parity_cases()) covered.insert(c.model);
  for (const models::ModelSpec& spec : models::registry())
    EXPECT_TRUE(covered.count(spec.name)) << "registry model '" << spec.name
                                          << "' has no parity case: add one to its tests/reference/make_*.py PARITY";
}

}  // namespace
}  // namespace reskit
