// Checkpoints against PyTorch itself: tests/reference/make_checkpoints.py
// writes state dicts in every layout torch.save has (plus broken files) and
// the exact bytes of every tensor; these tests read them, write our own for
// Python to read back, and load them into modules.
#include <gtest/gtest.h>

#include <caffe2/serialize/inline_container.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <random>

#include "reskit/core/error.h"
#include "reskit/io/checkpoint.h"
#include "reskit/io/state_dict.h"
#include "test_util.h"

namespace reskit::io {
namespace {

using test::fixture;

std::string ckpt(const std::string& name) { return fixture("checkpoints/" + name); }

at::ScalarType dtype_named(const std::string& name) {
  static const std::map<std::string, at::ScalarType> kTypes = {
      {"float32", at::kFloat}, {"float64", at::kDouble}, {"float16", at::kHalf}, {"bfloat16", at::kBFloat16},
      {"int64", at::kLong},    {"int32", at::kInt},      {"int16", at::kShort},  {"int8", at::kChar},
      {"uint8", at::kByte},    {"bool", at::kBool}};
  auto it = kTypes.find(name);
  if (it == kTypes.end()) throw std::runtime_error("unknown dtype " + name);
  return it->second;
}

std::string bytes_of(const at::Tensor& t) {
  at::Tensor c = t.contiguous();
  return std::string(static_cast<const char*>(c.data_ptr()), c.numel() * c.element_size());
}

struct Expected {
  std::string key;
  at::ScalarType dtype;
  std::vector<int64_t> shape;
  std::string bytes;
};

// One tensor set of the manifest ("model" or "full"), in the file's order.
std::vector<Expected> expected(const std::string& set) {
  nlohmann::json manifest = nlohmann::json::parse(test::read_text(ckpt("manifest.json")));
  std::vector<Expected> out;
  for (const auto& e : manifest.at(set))
    out.push_back({e.at("key"), dtype_named(e.at("dtype")), e.at("shape").get<std::vector<int64_t>>(),
                   test::read_text(ckpt(e.at("file").get<std::string>()))});
  return out;
}

// Same keys in the same order, same dtypes and shapes, bit-identical values.
::testing::AssertionResult matches(const StateDict& actual, const std::vector<Expected>& want) {
  if (actual.size() != want.size())
    return ::testing::AssertionFailure() << actual.size() << " tensors, expected " << want.size();
  for (size_t i = 0; i < want.size(); ++i) {
    const auto& [key, t] = actual[i];
    const Expected& e = want[i];
    if (key != e.key) return ::testing::AssertionFailure() << "entry " << i << " is '" << key << "', expected '" << e.key << "'";
    if (t.scalar_type() != e.dtype)
      return ::testing::AssertionFailure() << key << ": dtype " << t.scalar_type() << ", expected " << e.dtype;
    if (t.sizes() != at::IntArrayRef(e.shape))
      return ::testing::AssertionFailure() << key << ": shape " << t.sizes() << ", expected " << at::IntArrayRef(e.shape);
    if (bytes_of(t) != e.bytes) return ::testing::AssertionFailure() << key << ": values differ";
  }
  return ::testing::AssertionSuccess();
}

std::string error_of(const std::string& path) {
  try {
    read_state_dict(path);
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

const at::Tensor& entry(const StateDict& sd, const std::string& key) {
  for (const auto& [k, t] : sd)
    if (k == key) return t;
  throw std::runtime_error("no entry " + key);
}

// The Python model of make_checkpoints.py, in LibTorch: same names.
torch::nn::Sequential reference_model(int64_t kernel = 3) {
  return torch::nn::Sequential(torch::nn::Conv2d(torch::nn::Conv2dOptions(3, 4, kernel)), torch::nn::BatchNorm2d(4),
                               torch::nn::Linear(5, 2));
}

// ---- reading what Python wrote -------------------------------------------------

TEST(Checkpoint, ReadsEveryLayoutTorchSaveWrites) {
  const std::vector<Expected> full = expected("full"), model = expected("model");
  for (const char* layout : {"zip", "legacy"}) {
    std::string l = layout;
    SCOPED_TRACE(l);
    EXPECT_TRUE(matches(read_state_dict(ckpt("full_" + l + ".pt")), full));
    EXPECT_TRUE(matches(read_state_dict(ckpt("full_protocol4_" + l + ".pt")), full));
    EXPECT_TRUE(matches(read_state_dict(ckpt("model_" + l + ".pt")), model));
    EXPECT_TRUE(matches(read_state_dict(ckpt("wrapped_state_dict_" + l + ".pt")), full));
    EXPECT_TRUE(matches(read_state_dict(ckpt("wrapped_model_" + l + ".pt")), full));
    EXPECT_TRUE(matches(read_state_dict(ckpt("module_prefix_" + l + ".pt")), model));
    EXPECT_TRUE(matches(read_state_dict(ckpt("foreign_objects_" + l + ".pt")), full));
  }
}

// GPU-trained legacy files (PyTorch < 2.0) name torch.cuda.FloatStorage & co.
TEST(Checkpoint, ReadsStoragesSavedFromTheGpu) {
  EXPECT_TRUE(matches(read_state_dict(ckpt("full_cuda_legacy.pt")), expected("full")));
  EXPECT_NE(test::read_text(ckpt("full_cuda_legacy.pt")).find("torch.cuda\nFloatStorage"), std::string::npos);
}

TEST(Checkpoint, ParametersAndMissingBatchCounterRead) {
  std::vector<Expected> params, no_nbt;
  for (const Expected& e : expected("model")) {
    if (e.key.find("num_batches_tracked") != std::string::npos) continue;
    no_nbt.push_back(e);
    if (e.key.find("running_") == std::string::npos) params.push_back(e);
  }
  for (const char* layout : {"zip", "legacy"}) {
    std::string l = layout;
    SCOPED_TRACE(l);
    StateDict p = read_state_dict(ckpt("parameters_" + l + ".pt"));
    EXPECT_TRUE(matches(p, params));
    for (const auto& [key, t] : p) EXPECT_FALSE(t.requires_grad()) << key;
    EXPECT_TRUE(matches(read_state_dict(ckpt("no_nbt_" + l + ".pt")), no_nbt));
  }
}

TEST(Checkpoint, ViewsKeepSharingTheirStorage) {
  for (const char* file : {"full_zip.pt", "full_legacy.pt"}) {
    SCOPED_TRACE(file);
    StateDict sd = read_state_dict(ckpt(file));
    const at::Tensor& base = entry(sd, "extra.base");
    const at::Tensor& view = entry(sd, "extra.view");
    EXPECT_TRUE(view.is_alias_of(base));
    EXPECT_EQ(view.storage_offset(), 6);
    EXPECT_EQ(view.strides(), at::IntArrayRef({6, 2}));
    EXPECT_EQ(entry(sd, "extra.scalar").dim(), 0);
  }
}

// ---- refusing what is not a state dict ----------------------------------------

TEST(Checkpoint, BadFilesGiveOneLineErrors) {
  auto expect_error = [](const std::string& name, const std::string& what) {
    std::string path = ckpt(name);
    EXPECT_EQ(error_of(path), "checkpoint '" + path + "': " + what) << name;
  };
  expect_error("no_such_file.pt", "cannot open: No such file or directory");
  expect_error("expected", "is a directory");
  expect_error("bad_empty.pt", "file is empty");
  expect_error("bad_text.pt", "not a PyTorch checkpoint (neither a zip archive nor a pickle)");
  expect_error("bad_random.pt", "not a PyTorch checkpoint (neither a zip archive nor a pickle)");
  expect_error("bad_truncated_zip.pt", "bad zip archive: no end-of-directory record");
  expect_error("bad_truncated_legacy.pt", "file is truncated");
  expect_error("bad_truncated_legacy_header.pt", "file is truncated");
  expect_error("bad_truncated_legacy_data.pt", "file is truncated");
  expect_error("bad_namespace_zip.pt", "unsupported global 'argparse.Namespace'");
  expect_error("bad_code_in_state_dict_zip.pt", "'x' is an unsupported global 'posix.system'");
  expect_error("bad_list_zip.pt", "holds a list, not a state dict");
  expect_error("bad_magicless.pkl", "a pickle but not a PyTorch checkpoint (no torch.save magic number)");
  expect_error("bad_torchscript.pt", "is a TorchScript archive (torch.jit.save), not a state dict");
  expect_error("bad_no_pickle.pt", "zip archive without data.pkl, not a PyTorch checkpoint");
  // Never inflated: a compressed record could grow to any size (this one, 256 MiB from ~260 KB).
  expect_error("bad_compressed_zip.pt",
               "record 'full_zip/data.pkl' is compressed (zip method 8); torch.save stores records uncompressed, "
               "so it is not read");
  expect_error("bad_bomb_zip.pt",
               "record 'full_zip/data/0' is compressed (zip method 8); torch.save stores records uncompressed, "
               "so it is not read");
  expect_error("bad_version_zip.pt", "bad zip archive: its 'full_zip/version' record is not a number");
  EXPECT_EQ(error_of("/dev/zero"), "checkpoint '/dev/zero': not a regular file");
}

// A complex storage in a float parameter would lose its imaginary part: refused, naming the key.
// (Real dtypes convert, as PyTorch's load_state_dict does: LoadConvertsToTheModelsDtype.)
TEST(Checkpoint, LossyDtypesAreRefusedNamingTheKey) {
  auto model = reference_model();
  try {
    load_state_dict(*model, read_state_dict(ckpt("complex_weight_zip.pt")), /*strict=*/false, "c.pt");
    FAIL() << "a complex weight was loaded into a float parameter";
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "checkpoint 'c.pt': '0.weight' is ComplexFloat, which the model's Float cannot hold "
                           "without losing values");
  }
}

TEST(Checkpoint, NeverRunsCodeFromTheFile) {
  const std::string legacy = ckpt("bad_code_legacy.pt"), bare = ckpt("bad_code.pkl");
  EXPECT_EQ(error_of(legacy), "checkpoint '" + legacy + "': unsupported global 'posix.system'");
  EXPECT_EQ(error_of(bare), "checkpoint '" + bare + "': a pickle but not a PyTorch checkpoint (no torch.save magic number)");
  // Beside the tensors the payload is read past as a placeholder, never called.
  const StateDict beside = read_state_dict(ckpt("bad_code_zip.pt"));
  ASSERT_EQ(beside.size(), 1u);
  EXPECT_EQ(beside[0].first, "w");
  EXPECT_FALSE(std::filesystem::exists(ckpt("code_ran")));
}

// Every byte flip, truncation or overwrite of a good file either still reads
// or throws reskit::Error: no crash, no other exception, no huge allocation.
// Zip files are mutated twice over: the raw file (miniz and CRCs) and,
// rewritten with valid CRCs, the pickle inside (the unpickler itself).
TEST(Checkpoint, MutatedFilesNeverCrash) {
  std::mt19937 rng(1234);
  auto pick = [&](size_t n) { return std::uniform_int_distribution<size_t>(0, n - 1)(rng); };
  auto mutate = [&](std::string data) {
    switch (pick(4)) {
      case 0:  // a few random bytes
        for (size_t i = 0, n = 1 + pick(4); i < n; ++i) data[pick(data.size())] = static_cast<char>(pick(256));
        break;
      case 1:  // a truncation
        data.resize(pick(data.size()));
        break;
      case 2: {  // a run of 0xff: huge lengths, counts, sizes
        size_t at = pick(data.size());
        for (size_t i = at; i < data.size() && i < at + 1 + pick(8); ++i) data[i] = '\xff';
        break;
      }
      default: {  // one bit, somewhere
        size_t at = pick(data.size());
        data[at] = static_cast<char>(data[at] ^ (1 << pick(8)));
      }
    }
    return data;
  };
  // The zip's records, for rewriting it around a mutated data.pkl.
  std::vector<std::pair<std::string, std::string>> records;
  {
    caffe2::serialize::PyTorchStreamReader reader(ckpt("wrapped_state_dict_zip.pt"));
    for (const std::string& name : reader.getAllRecords()) {
      auto [data, size] = reader.getRecord(name);
      records.emplace_back(name, std::string(static_cast<const char*>(data.get()), size));
    }
  }
  auto rezip = [&](const std::string& pickle) {
    std::string out;
    caffe2::serialize::PyTorchStreamWriter writer([&](const void* p, size_t n) {
      out.append(static_cast<const char*>(p), n);
      return n;
    });
    for (const auto& [name, data] : records)
      if (name != "version") writer.writeRecord(name, name == "data.pkl" ? pickle.data() : data.data(),
                                                name == "data.pkl" ? pickle.size() : data.size());
    writer.writeEndOfFile();
    return out;
  };
  std::string pickle;
  for (const auto& [name, data] : records)
    if (name == "data.pkl") pickle = data;
  ASSERT_FALSE(pickle.empty());

  const std::vector<std::string> sources = {test::read_text(ckpt("full_legacy.pt")),
                                            test::read_text(ckpt("full_protocol4_legacy.pt")),
                                            test::read_text(ckpt("wrapped_state_dict_legacy.pt")),
                                            test::read_text(ckpt("full_zip.pt"))};
  std::string dir = test::temp_dir("checkpoint_fuzz");
  std::string path = dir + "/mutant.pt";
  int read = 0, refused = 0;
  for (int i = 0; i < 2000; ++i) {
    std::string data = i % 2 ? rezip(mutate(pickle)) : mutate(sources[pick(sources.size())]);
    std::ofstream(path, std::ios::binary | std::ios::trunc).write(data.data(), static_cast<std::streamsize>(data.size()));
    try {
      read_state_dict(path);
      ++read;
    } catch (const Error& e) {
      ++refused;
      std::string what = e.what();
      ASSERT_EQ(what.find('\n'), std::string::npos) << "iteration " << i << ": " << what;
      ASSERT_EQ(what.rfind("checkpoint '" + path + "': ", 0), 0u) << "iteration " << i << ": " << what;
    } catch (const std::exception& e) {
      FAIL() << "iteration " << i << ": not a reskit::Error: " << e.what();
    }
  }
  std::filesystem::remove_all(dir);
  EXPECT_GT(refused, 500);
  EXPECT_GT(read, 50);  // some mutations are harmless (a tensor value, an unused byte)
}

// ---- writing what Python reads ---------------------------------------------------

StateDict mixed_state() {
  at::Tensor base = at::arange(24, at::kDouble).reshape({4, 6}) / 7.0;
  return {
      {"conv.weight", at::randn({2, 3, 3, 3}, at::TensorOptions().dtype(at::kFloat))},
      {"f64", base},
      {"view", base.slice(0, 1).slice(1, 0, 6, 2)},
      {"i64", at::tensor({-(int64_t(1) << 40), int64_t(3)}, at::kLong)},
      {"i32", at::tensor({-5, 7}, at::kInt)},
      {"bool", at::tensor({1, 0, 1}, at::kInt).to(at::kBool)},
      {"f16", at::randn({3}).to(at::kHalf)},
      {"bf16", at::randn({3}).to(at::kBFloat16)},
      {"scalar", at::scalar_tensor(2.5, at::kFloat)},
      {"empty", at::zeros({0, 3})},
  };
}

TEST(Checkpoint, PythonReadsWhatWeSave) {
  std::string dir = test::temp_dir("checkpoint_save");
  std::string path = dir + "/saved.pt";
  StateDict state = mixed_state();
  save_state_dict(path, state);
  test::CommandResult r = test::run_python(
      "import json, torch\n"
      "d = torch.load('" + path + "')\n"
      "assert type(d) is dict, type(d)\n"
      "out = []\n"
      "for k, v in d.items():\n"
      "    assert isinstance(v, torch.Tensor) and not v.requires_grad, k\n"
      "    c = v.contiguous().view(torch.int16) if v.dtype == torch.bfloat16 else v.contiguous()\n"
      "    out.append([k, str(v.dtype), list(v.shape), c.numpy().tobytes().hex()])\n"
      "assert d['view'].storage().data_ptr() == d['f64'].storage().data_ptr()\n"
      "print(json.dumps(out))\n");
  ASSERT_EQ(r.status, 0) << r.err;
  nlohmann::json got = nlohmann::json::parse(r.out);
  ASSERT_EQ(got.size(), state.size());
  for (size_t i = 0; i < state.size(); ++i) {
    const auto& [key, t] = state[i];
    EXPECT_EQ(got[i][0], key);
    EXPECT_EQ(dtype_named(got[i][1].get<std::string>().substr(6)), t.scalar_type()) << key;
    EXPECT_EQ(got[i][2].get<std::vector<int64_t>>(), t.sizes().vec()) << key;
    std::string hex;
    for (unsigned char c : bytes_of(t)) {
      static const char* digits = "0123456789abcdef";
      hex += digits[c >> 4];
      hex += digits[c & 15];
    }
    EXPECT_EQ(got[i][3], hex) << key;
  }
  std::filesystem::remove_all(dir);
}

TEST(Checkpoint, RoundTripsThroughOurOwnReader) {
  std::string dir = test::temp_dir("checkpoint_roundtrip");
  std::string path = dir + "/saved.pt";
  StateDict state = mixed_state();
  save_state_dict(path, state);
  StateDict back = read_state_dict(path);
  ASSERT_EQ(back.size(), state.size());
  for (size_t i = 0; i < state.size(); ++i) {
    EXPECT_EQ(back[i].first, state[i].first);
    EXPECT_EQ(back[i].second.scalar_type(), state[i].second.scalar_type());
    EXPECT_EQ(back[i].second.sizes(), state[i].second.sizes());
    EXPECT_EQ(bytes_of(back[i].second), bytes_of(state[i].second)) << state[i].first;
  }
  EXPECT_TRUE(entry(back, "view").is_alias_of(entry(back, "f64")));
  // Atomic: no temporary left beside it.
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir), std::filesystem::directory_iterator()), 1);
  std::filesystem::remove_all(dir);
}

TEST(Checkpoint, SaveRefusesDuplicateAndUndefined) {
  std::string dir = test::temp_dir("checkpoint_refuse");
  std::string path = dir + "/x.pt";
  try {
    save_state_dict(path, {{"a", at::ones({1})}, {"a", at::ones({1})}});
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), "cannot write '" + path + "': key 'a' appears twice");
  }
  EXPECT_THROW(save_state_dict(path, {{"b", at::Tensor()}}), Error);
  EXPECT_FALSE(std::filesystem::exists(path));
  std::filesystem::remove_all(dir);
}

// ---- state dicts of modules ------------------------------------------------------

TEST(Checkpoint, StateDictOfFollowsPythonOrder) {
  auto model = reference_model();
  StateDict sd = state_dict_of(*model);
  std::vector<std::string> keys, want;
  for (const auto& [k, t] : sd) keys.push_back(k);
  for (const Expected& e : expected("model")) want.push_back(e.key);
  EXPECT_EQ(keys, want);
  for (const auto& [k, t] : sd) EXPECT_FALSE(t.requires_grad()) << k;
}

TEST(Checkpoint, LoadsPythonWeightsIntoAModule) {
  const std::vector<Expected> want = expected("model");
  for (const char* file : {"model_zip.pt", "model_legacy.pt", "module_prefix_zip.pt", "module_prefix_legacy.pt"}) {
    SCOPED_TRACE(file);
    auto model = reference_model();
    LoadReport report = load_state_dict(*model, read_state_dict(ckpt(file)), /*strict=*/true, file);
    EXPECT_EQ(report.loaded.size(), want.size());
    EXPECT_TRUE(report.missing.empty() && report.unexpected.empty() && report.mismatched.empty());
    EXPECT_TRUE(matches(state_dict_of(*model), want));
  }
}

TEST(Checkpoint, MissingBatchCounterIsTolerated) {
  auto model = reference_model();
  LoadReport report = load_state_dict(*model, read_state_dict(ckpt("no_nbt_zip.pt")), true, "no_nbt_zip.pt");
  EXPECT_TRUE(report.missing.empty());
  EXPECT_EQ(report.loaded.size(), 8u);
  EXPECT_EQ(entry(state_dict_of(*model), "1.num_batches_tracked").item<int64_t>(), 0);
}

TEST(Checkpoint, StrictMismatchListsEverythingAndChangesNothing) {
  auto model = reference_model(/*kernel=*/5);
  StateDict before = state_dict_of(*model);
  std::vector<std::string> before_bytes;
  for (const auto& [k, t] : before) before_bytes.push_back(bytes_of(t));
  StateDict state = read_state_dict(ckpt("model_zip.pt"));
  state.erase(state.begin() + 1);  // 0.bias
  for (int i = 0; i < 12; ++i) state.emplace_back("extra" + std::to_string(i), at::ones({1}));
  try {
    load_state_dict(*model, state, /*strict=*/true, "weights.pth");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()),
              "checkpoint 'weights.pth' does not match " + model->name() +
                  ": missing keys: 0.bias; unexpected keys: extra0, extra1, extra2, extra3, extra4, extra5, extra6, "
                  "extra7, extra8, extra9 and 2 more; wrong shapes: 0.weight: file [4, 3, 3, 3] vs model [4, 3, 5, 5]");
  }
  StateDict after = state_dict_of(*model);
  for (size_t i = 0; i < after.size(); ++i) EXPECT_EQ(bytes_of(after[i].second), before_bytes[i]) << after[i].first;
}

TEST(Checkpoint, NonStrictLoadsWhatMatchesAndReportsTheRest) {
  auto model = reference_model(/*kernel=*/5);
  at::Tensor conv_before = model[0]->named_parameters()["weight"].clone();
  StateDict state = read_state_dict(ckpt("model_zip.pt"));
  state.emplace_back("foo", at::ones({2}));
  LoadReport report = load_state_dict(*model, state, /*strict=*/false, "weights.pth");
  EXPECT_EQ(report.mismatched, std::vector<std::string>({"0.weight: file [4, 3, 3, 3] vs model [4, 3, 5, 5]"}));
  EXPECT_EQ(report.unexpected, std::vector<std::string>({"foo"}));
  EXPECT_TRUE(report.missing.empty());
  EXPECT_EQ(report.loaded.size(), state.size() - 2);
  EXPECT_TRUE(model[0]->named_parameters()["weight"].equal(conv_before));
  EXPECT_EQ(bytes_of(entry(state_dict_of(*model), "1.running_mean")), bytes_of(entry(state, "1.running_mean")));
}

TEST(Checkpoint, LoadConvertsToTheModelsDtype) {
  auto model = reference_model();
  StateDict state;
  for (const auto& [k, t] : state_dict_of(*model))
    state.emplace_back(k, at::full_like(t, 0.25, at::TensorOptions().dtype(t.is_floating_point() ? at::kDouble : at::kInt)));
  load_state_dict(*model, state, /*strict=*/true, "f64.pth");
  for (const auto& [k, t] : state_dict_of(*model)) {
    EXPECT_EQ(t.scalar_type(), k.find("num_batches") == std::string::npos ? at::kFloat : at::kLong) << k;
    if (t.is_floating_point()) EXPECT_TRUE(t.eq(0.25).all().item<bool>()) << k;
  }
}

}  // namespace
}  // namespace reskit::io
