// What every registry entry promises, whatever its family: names are unique,
// options come from one declaration (defaults, JSON and --set agree), and
// every convolution is reskit's, so that inference runs on oneDNN.
#include <gtest/gtest.h>
#include <torch/nn/modules/conv.h>

#include <set>
#include <typeinfo>

#include "reskit/core/options_json.h"
#include "reskit/layers/conv.h"
#include "test_util.h"

namespace reskit {
namespace {

TEST(Registry, NamesAreUniqueAndFamiliesGrouped) {
  std::set<std::string> names;
  for (const models::ModelSpec& spec : models::registry()) {
    EXPECT_TRUE(names.insert(spec.name).second) << spec.name;
    EXPECT_FALSE(spec.family.empty()) << spec.name;
    EXPECT_EQ(spec.inputs.size(), spec.example_input_sizes.size()) << spec.name;
  }
}

TEST(Registry, EveryConvolutionIsReskitsOneDnnConv) {
  for (const models::ModelSpec& spec : models::registry()) {
    const models::Model model = models::build_model(models::default_options(spec.name));
    for (const auto& item : model.module->named_modules()) {
      const torch::nn::Module& m = *item.value();
      const std::type_info& type = typeid(m);
      EXPECT_TRUE(type != typeid(torch::nn::Conv1dImpl) && type != typeid(torch::nn::Conv2dImpl) &&
                  type != typeid(torch::nn::Conv3dImpl))
          << spec.name << ": '" << item.key() << "' is LibTorch's convolution; use layers::Conv1d/2d/3d";
    }
  }
}

TEST(Registry, OptionsRoundTripThroughJsonAndSet) {
  for (const models::ModelSpec& spec : models::registry()) {
    Options defaults = models::default_options(spec.name);
    Options from_json = models::default_options(spec.name);
    apply_json_options(from_json, options_to_json(defaults), "defaults of " + spec.name);
    EXPECT_EQ(from_json.values(), defaults.values()) << spec.name;
    Options from_text = models::default_options(spec.name);
    for (const OptionSpec& o : spec.options) from_text.set_from_text(o.name, format_value(o.default_value));
    EXPECT_EQ(from_text.values(), defaults.values()) << spec.name;
    EXPECT_TRUE(defaults.non_default().empty()) << spec.name;
  }
}

// Nested options (i3d_r50's backbone.*) are also read from nested JSON
// objects, as mmaction2's configs write them.
TEST(Registry, NestedOptionsReadFromNestedJson) {
  Options o = models::default_options("i3d_r50");
  apply_json_options(o, R"({"num_classes": 10, "backbone": {"depth": 101, "with_pool2": false}})", "config");
  const auto changed = o.non_default();
  ASSERT_EQ(changed.size(), 3u);
  EXPECT_EQ(changed[0].first, "num_classes");
  EXPECT_EQ(changed[1].first, "backbone.depth");
  EXPECT_EQ(std::get<int64_t>(changed[1].second), 101);
  EXPECT_EQ(changed[2].first, "backbone.with_pool2");
  EXPECT_THROW(apply_json_options(o, R"({"backbone": {"colour": 1}})", "config"), Error);
}

}  // namespace
}  // namespace reskit
