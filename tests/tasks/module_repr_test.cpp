// `reskit print` and tasks::python_repr against Python's print(model):
// single built-in modules, Python's float repr, every registry case that a
// fixture script lists under print/*_cases.json, and the listings printed in
// seeds/001 (acceptance data, embedded verbatim below).
#include <gtest/gtest.h>
#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/dropout.h>
#include <torch/nn/functional/instancenorm.h>
#include <torch/nn/modules/instancenorm.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>
#include <torch/nn/modules/pooling.h>
#include <torch/nn/modules/upsampling.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <set>
#include <sstream>

#include "reskit/layers/conv_module.h"
#include "reskit/layers/sequential.h"
#include "reskit/models/classification/seed_resnet.h"
#include "reskit/models/registry.h"
#include "reskit/core/text_format.h"
#include "reskit/tasks/module_repr.h"
#include "reskit/tasks/python_view.h"
#include "test_util.h"

namespace reskit {
namespace {

namespace nn = torch::nn;
using ModulePtr = std::shared_ptr<nn::Module>;

// seeds/001: `nn.Sequential(*make_layers(ResidualUnit,256,6,False))`, as the seed prints it.
const char* const kSeedLayer34Conv4x = R"SEED(Sequential(
  (0): ResidualUnit(
    (fit_): Sequential(
      (0): Sequential(
        (0): Conv2d(128, 256, kernel_size=(3, 3), stride=(2, 2), padding=(1, 1), bias=False)
        (1): BatchNorm2d(256, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)
      )
      (1): ReLU(inplace=True)
      (2): Sequential(
        (0): Conv2d(256, 256, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1), bias=False)
        (1): BatchNorm2d(256, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)
      )
    )
    (skipconv): Sequential(
      (0): Conv2d(128, 256, kernel_size=(1, 1), stride=(2, 2), bias=False)
      (1): BatchNorm2d(256, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)
    )
    (relu): ReLU(inplace=True)
  )
  (1): ResidualUnit(
    (fit_): Sequential(
      (0): Sequential(
        (0): Conv2d(256, 256, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1), bias=False)
        (1): BatchNorm2d(256, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)
      )
      (1): ReLU(inplace=True)
      (2): Sequential(
        (0): Conv2d(256, 256, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1), bias=False)
        (1): BatchNorm2d(256, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)
      )
    )
    (skipconv): Sequential(
      (0): Conv2d(256, 256, kernel_size=(1, 1), stride=(1, 1), bias=False)
      (1): BatchNorm2d(256, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)
    )
    (relu): ReLU(inplace=True)
  )
  (2): ResidualUnit(
    (fit_): Sequential(
      (0): Sequential(
        (0): Conv2d(256, 256, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1), bias=False)
        (1): BatchNorm2d(256, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)
      )
      (1): ReLU(inplace=True)
      (2): Sequential(
        (0): Conv2d(256, 256, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1), bias=False)
        (1): BatchNorm2d(256, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)
      )
    )
    (skipconv): Sequential(
      (0): Conv2d(256, 256, kernel_size=(1, 1), stride=(1, 1), bias=False)
      (1): BatchNorm2d(256, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)
    )
    (relu): ReLU(inplace=True)
  )
  (3): ResidualUnit(
    (fit_): Sequential(
      (0): Sequential(
        (0): Conv2d(256, 256, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1), bias=False)
        (1): BatchNorm2d(256, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)
      )
      (1): ReLU(inplace=True)
      (2): Sequential(
        (0): Conv2d(256, 256, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1), bias=False)
        (1): BatchNorm2d(256, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)
      )
    )
    (skipconv): Sequential(
      (0): Conv2d(256, 256, kernel_size=(1, 1), stride=(1, 1), bias=False)
      (1): BatchNorm2d(256, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)
    )
    (relu): ReLU(inplace=True)
  )
  (4): ResidualUnit(
    (fit_): Sequential(
      (0): Sequential(
        (0): Conv2d(256, 256, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1), bias=False)
        (1): BatchNorm2d(256, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)
      )
      (1): ReLU(inplace=True)
      (2): Sequential(
        (0): Conv2d(256, 256, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1), bias=False)
        (1): BatchNorm2d(256, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)
      )
    )
    (skipconv): Sequential(
      (0): Conv2d(256, 256, kernel_size=(1, 1), stride=(1, 1), bias=False)
      (1): BatchNorm2d(256, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)
    )
    (relu): ReLU(inplace=True)
  )
  (5): ResidualUnit(
    (fit_): Sequential(
      (0): Sequential(
        (0): Conv2d(256, 256, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1), bias=False)
        (1): BatchNorm2d(256, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)
      )
      (1): ReLU(inplace=True)
      (2): Sequential(
        (0): Conv2d(256, 256, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1), bias=False)
        (1): BatchNorm2d(256, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)
      )
    )
    (skipconv): Sequential(
      (0): Conv2d(256, 256, kernel_size=(1, 1), stride=(1, 1), bias=False)
      (1): BatchNorm2d(256, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)
    )
    (relu): ReLU(inplace=True)
  )
)
)SEED";

// seeds/001: `conv3x3(2,10)` and `conv1x1(2,10,1,True)`.
const char* const kSeedConv3x3 = R"SEED(Sequential(
  (0): Conv2d(2, 10, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1), bias=False)
  (1): BatchNorm2d(10, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)
)
)SEED";
const char* const kSeedConv1x1 = R"SEED(Sequential(
  (0): Conv2d(2, 10, kernel_size=(1, 1), stride=(1, 1), bias=False)
  (1): BatchNorm2d(10, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)
)
)SEED";

std::string fixture_text(const std::string& name) {
  const std::string path = test::fixture(name);
  EXPECT_TRUE(std::filesystem::exists(path)) << "missing fixture " << path << " (tests/reference/make_seed_models.py)";
  return test::read_text(path);
}

using test::shell_quote;

// ---- Python's repr(float) -------------------------------------------------

TEST(PythonFloatRepr, TheEpsAndMomentumSpellings) {
  EXPECT_EQ(python_float_repr(1e-5), "1e-05");
  EXPECT_EQ(python_float_repr(0.1), "0.1");
  EXPECT_EQ(python_float_repr(1e-3), "0.001");
  EXPECT_EQ(python_float_repr(2.0), "2.0");
}

TEST(PythonFloatRepr, MatchesPythonOnEveryFixtureValue) {
  std::istringstream lines(fixture_text("print/floats.txt"));
  std::string line;
  int checked = 0;
  while (std::getline(lines, line)) {
    const size_t tab = line.find('\t');
    ASSERT_NE(tab, std::string::npos) << line;
    const double value = std::strtod(line.substr(0, tab).c_str(), nullptr);  // %.17g round-trips exactly
    EXPECT_EQ(python_float_repr(value), line.substr(tab + 1)) << "value " << line.substr(0, tab);
    ++checked;
  }
  EXPECT_GT(checked, 20);
}

// ---- single modules: the LibTorch twin of each Python module in make_seed_models.MODULES ----

template <typename Holder>
ModulePtr ptr(Holder h) {
  return h.ptr();
}

const std::map<std::string, std::function<ModulePtr()>>& builtin_cases() {
  static const std::map<std::string, std::function<ModulePtr()>> cases = {
      {"conv1d", [] { return ptr(nn::Conv1d(nn::Conv1dOptions(3, 4, 3))); }},
      {"conv2d_stem", [] { return ptr(nn::Conv2d(nn::Conv2dOptions(3, 64, 7).stride(2).padding(3).bias(false))); }},
      {"conv2d_dilated_grouped",
       [] { return ptr(nn::Conv2d(nn::Conv2dOptions(4, 8, 3).padding(2).dilation(2).groups(2))); }},
      {"conv2d_rect",
       [] {
         return ptr(nn::Conv2d(
             nn::Conv2dOptions(4, 8, {1, 3}).stride({2, 1}).padding(torch::ExpandingArray<2>({0, 1})).bias(false)));
       }},
      {"conv2d_same_reflect",
       [] { return ptr(nn::Conv2d(nn::Conv2dOptions(4, 4, 3).padding(torch::kSame).padding_mode(torch::kReflect))); }},
      {"conv3d",
       [] {
         return ptr(nn::Conv3d(
             nn::Conv3dOptions(3, 64, {3, 7, 7}).stride({1, 2, 2}).padding(torch::ExpandingArray<3>({1, 3, 3})).bias(false)));
       }},
      {"conv_transpose2d",
       [] { return ptr(nn::ConvTranspose2d(nn::ConvTranspose2dOptions(3, 4, 3).stride(2).padding(1).output_padding(1))); }},
      {"bn2d", [] { return ptr(nn::BatchNorm2d(64)); }},
      {"bn1d_eps_none", [] { return ptr(nn::BatchNorm1d(nn::BatchNorm1dOptions(5).eps(1e-3).momentum(c10::nullopt))); }},
      {"bn3d_no_affine",
       [] { return ptr(nn::BatchNorm3d(nn::BatchNorm3dOptions(8).eps(1e-4).momentum(0.03).affine(false))); }},
      {"instance_norm2d", [] { return ptr(nn::InstanceNorm2d(nn::InstanceNorm2dOptions(3))); }},
      {"group_norm", [] { return ptr(nn::GroupNorm(nn::GroupNormOptions(32, 64))); }},
      {"layer_norm", [] { return ptr(nn::LayerNorm(nn::LayerNormOptions({8}))); }},
      {"relu", [] { return ptr(nn::ReLU()); }},
      {"relu_inplace", [] { return ptr(nn::ReLU(nn::ReLUOptions(true))); }},
      {"relu6", [] { return ptr(nn::ReLU6()); }},
      {"leaky_relu", [] { return ptr(nn::LeakyReLU()); }},
      {"leaky_relu_inplace", [] { return ptr(nn::LeakyReLU(nn::LeakyReLUOptions().negative_slope(0.1).inplace(true))); }},
      {"elu", [] { return ptr(nn::ELU()); }},
      {"gelu", [] { return ptr(nn::GELU()); }},
      {"silu", [] { return ptr(nn::SiLU()); }},
      {"sigmoid", [] { return ptr(nn::Sigmoid()); }},
      {"tanh", [] { return ptr(nn::Tanh()); }},
      {"softmax", [] { return ptr(nn::Softmax(nn::SoftmaxOptions(1))); }},
      {"maxpool2d_torchvision", [] { return ptr(nn::MaxPool2d(nn::MaxPool2dOptions(3).stride(2).padding(1))); }},
      {"maxpool2d_seed", [] { return ptr(nn::MaxPool2d(nn::MaxPool2dOptions(3).stride(2).ceil_mode(true))); }},
      {"maxpool2d_rect", [] { return ptr(nn::MaxPool2d(nn::MaxPool2dOptions({2, 3}))); }},
      {"maxpool3d",
       [] { return ptr(nn::MaxPool3d(nn::MaxPool3dOptions({1, 3, 3}).stride({1, 2, 2}).padding({0, 1, 1}))); }},
      {"maxpool1d", [] { return ptr(nn::MaxPool1d(nn::MaxPool1dOptions(3))); }},
      {"avgpool1d", [] { return ptr(nn::AvgPool1d(nn::AvgPool1dOptions(3))); }},
      {"avgpool2d", [] { return ptr(nn::AvgPool2d(nn::AvgPool2dOptions(2))); }},
      {"adaptive_avgpool2d", [] { return ptr(nn::AdaptiveAvgPool2d(nn::AdaptiveAvgPool2dOptions({1, 1}))); }},
      {"adaptive_avgpool3d", [] { return ptr(nn::AdaptiveAvgPool3d(nn::AdaptiveAvgPool3dOptions({1, 1, 1}))); }},
      {"adaptive_maxpool2d_free",
       [] { return ptr(nn::AdaptiveMaxPool2d(nn::AdaptiveMaxPool2dOptions({c10::nullopt, 7}))); }},
      {"adaptive_avgpool1d", [] { return ptr(nn::AdaptiveAvgPool1d(nn::AdaptiveAvgPool1dOptions(4))); }},
      {"linear", [] { return ptr(nn::Linear(512, 1000)); }},
      {"linear_no_bias", [] { return ptr(nn::Linear(nn::LinearOptions(3, 4).bias(false))); }},
      {"dropout", [] { return ptr(nn::Dropout()); }},
      {"dropout_inplace", [] { return ptr(nn::Dropout(nn::DropoutOptions(0.25).inplace(true))); }},
      {"dropout2d", [] { return ptr(nn::Dropout2d(nn::Dropout2dOptions(0.1))); }},
      {"identity", [] { return ptr(nn::Identity()); }},
      {"flatten", [] { return ptr(nn::Flatten()); }},
      {"upsample_scale", [] { return ptr(nn::Upsample(nn::UpsampleOptions().scale_factor(std::vector<double>{2.0}))); }},
      {"upsample_size",
       [] {
         return ptr(nn::Upsample(
             nn::UpsampleOptions().size(std::vector<int64_t>{8, 8}).mode(torch::kBilinear).align_corners(true)));
       }},
      {"sequential_nested",
       [] {
         return ptr(nn::Sequential(nn::Conv2d(nn::Conv2dOptions(2, 10, 3).padding(1).bias(false)),
                                   layers::make_sequential(nn::BatchNorm2d(10), nn::ReLU(nn::ReLUOptions(true))),
                                   nn::Identity()));
       }},
      {"module_list", [] { return ptr(nn::ModuleList(nn::ReLU(), nn::Sequential())); }},
      {"seed_conv3x3_2_10", [] { return ptr(models::classification::seed001::conv3x3(2, 10)); }},
      {"seed_conv1x1_2_10_zero", [] { return ptr(models::classification::seed001::conv1x1(2, 10, 1, true)); }},
  };
  return cases;
}

std::vector<std::string> builtin_ids() {
  std::vector<std::string> ids;
  for (const auto& [id, build] : builtin_cases()) ids.push_back(id);
  return ids;
}

class BuiltinRepr : public ::testing::TestWithParam<std::string> {};

TEST_P(BuiltinRepr, MatchesPython) {
  const ModulePtr module = builtin_cases().at(GetParam())();
  EXPECT_EQ(tasks::python_repr(*module) + "\n", fixture_text("print/modules/" + GetParam() + ".txt"));
}

INSTANTIATE_TEST_SUITE_P(Modules, BuiltinRepr, ::testing::ValuesIn(builtin_ids()),
                         [](const auto& info) { return info.param; });

TEST(BuiltinReprFixtures, EveryPythonModuleHasALibTorchTwin) {
  const std::filesystem::path dir = test::fixture("print/modules");
  ASSERT_TRUE(std::filesystem::is_directory(dir)) << "missing " << dir << " (tests/reference/make_seed_models.py)";
  std::vector<std::string> ids;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) ids.push_back(entry.path().stem().string());
  std::sort(ids.begin(), ids.end());
  EXPECT_EQ(ids, builtin_ids());  // std::map keeps builtin_ids() sorted
}

TEST(ModuleRepr, UnknownLibTorchTypesPrintTheirClassName) {
  EXPECT_EQ(tasks::python_repr(*nn::Softplus().ptr()), "Softplus()");
  EXPECT_EQ(tasks::python_class_name(*nn::Softplus().ptr()), "Softplus");
}

// mmcv's ConvModule builds its activation with act_cfg's inplace=True, which
// LibTorch's SiLU cannot hold; the repr takes it from the ConvModule.
TEST(ModuleRepr, ConvModuleSiLUIsInplaceAsMmcvBuildsIt) {
  layers::ConvModule m(layers::ConvModuleOptions(4, 6, {1}).act({layers::ActType::kSiLU}));
  EXPECT_EQ(tasks::python_repr(*m),
            "ConvModule(\n"
            "  (conv): Conv2d(4, 6, kernel_size=(1, 1), stride=(1, 1))\n"
            "  (activate): SiLU(inplace=True)\n"
            ")");
}

// ---- the seed's own listings (acceptance data) -----------------------------

TEST(SeedListing, Conv3x3AndConv1x1) {
  EXPECT_EQ(tasks::python_repr(*models::classification::seed001::conv3x3(2, 10)) + "\n", kSeedConv3x3);
  EXPECT_EQ(tasks::python_repr(*models::classification::seed001::conv1x1(2, 10, 1, true)) + "\n", kSeedConv1x1);
}

TEST(SeedListing, MakeLayersResidualUnit256x6) {
  const auto r = test::run_reskit(
      "print seed_layer --set block=residual_unit --set middle_out=256 --set num_blocks=6 --set afterconv1=false");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, kSeedLayer34Conv4x);
  EXPECT_EQ(r.err, "");
}

// ---- reskit print over every fixture case ---------------------------------

struct PrintCase {
  std::string id, model, manifest;
  std::vector<std::string> sets;
};

// Every print/*_cases.json a fixture script writes: {id: {model, sets}}, text in print/<id>.txt.
std::vector<PrintCase> print_cases() {
  std::vector<PrintCase> cases;
  const std::filesystem::path dir = test::fixture("print");
  if (!std::filesystem::is_directory(dir)) return cases;
  std::vector<std::filesystem::path> manifests;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    const std::string name = entry.path().filename().string();
    if (name.size() > 11 && name.compare(name.size() - 11, 11, "_cases.json") == 0) manifests.push_back(entry.path());
  }
  std::sort(manifests.begin(), manifests.end());
  for (const auto& path : manifests) {
    std::ifstream in(path);
    const nlohmann::json manifest = nlohmann::json::parse(in);
    for (auto it = manifest.begin(); it != manifest.end(); ++it)
      cases.push_back({it.key(), it.value().at("model").get<std::string>(), path.filename().string(),
                       it.value().at("sets").get<std::vector<std::string>>()});
  }
  return cases;
}

TEST(ReskitPrint, MatchesPythonForEveryFixtureCase) {
  const std::vector<PrintCase> cases = print_cases();
  ASSERT_FALSE(cases.empty()) << "no print/*_cases.json under " << test::fixture("print");
  for (const PrintCase& c : cases) {
    std::string args = "print " + shell_quote(c.model);
    for (const std::string& s : c.sets) args += " --set " + shell_quote(s);
    const auto r = test::run_reskit(args);
    EXPECT_EQ(r.status, 0) << c.id << ": " << r.err;
    EXPECT_EQ(r.out, fixture_text("print/" + c.id + ".txt")) << c.id << " (" << c.manifest << "): reskit " << args;
  }
}

// A model nobody compared against print(model) is how a wrong tree slips in.
TEST(ReskitPrint, EveryRegisteredModelHasAFixtureCase) {
  std::set<std::string> covered;
  for (const PrintCase& c : print_cases()) covered.insert(c.model);
  for (const models::ModelSpec& spec : models::registry())
    EXPECT_TRUE(covered.count(spec.name))
        << "no print fixture for '" << spec.name
        << "': add a case to a tests/reference/make_*.py that writes print/<id>.txt and print/<script>_cases.json";
}

TEST(ReskitPrint, ErrorsAreOneLine) {
  struct Bad {
    std::string args, message_start;
  };
  const std::vector<Bad> cases = {
      {"print nope", "reskit: unknown model 'nope' (known: "},
      {"print", "reskit: no model given"},
      {"print seed_block --set stride1=3", "reskit: seed001: ResidualUnit supports stride1 1 or 2, got 3"},
      {"print seed_block --set in_=0", "reskit: seed_block: in_ must be positive or -1 (None), got 0"},
      {"print seed_layer --set num_blocks=0", "reskit: seed001: num_blocks must be positive, got 0"},
      {"print seed_resnet --set layers=3,4,6", "reskit: seed_resnet: layers needs 4 values, got 3"},
      {"print seed_resnet --set block=basic", "reskit: "},
      {"print seed_resnet --nope", "reskit: print: unknown option '--nope'"},
  };
  for (const Bad& b : cases) {
    const auto r = test::run_reskit(b.args);
    EXPECT_EQ(r.status, 1) << b.args;
    EXPECT_EQ(r.err.rfind(b.message_start, 0), 0u) << b.args << ": " << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << b.args << ": " << r.err;
    EXPECT_EQ(r.out, "") << b.args;
  }
}

TEST(ReskitPrint, Help) {
  const auto r = test::run_reskit("print --help");
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(r.out.rfind("usage: reskit print MODEL", 0), 0u) << r.out;
}

}  // namespace
}  // namespace reskit
