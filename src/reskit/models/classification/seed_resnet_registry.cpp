#include "reskit/models/classification/seed_resnet_registry.h"

#include <optional>
#include <string>

#include "reskit/core/error.h"
#include "reskit/models/classification/seed_resnet.h"

namespace reskit::models {
namespace {

using seed001::SeedBlock;

// The seed's in_=None, which an int option cannot hold.
constexpr int64_t kNone = -1;

OptionSpec block_option() {
  return {"block", OptionType::kString, std::string("residual_unit"), "the seed's ResidualUnit or Bottleneck",
          {"residual_unit", "bottleneck"}};
}

SeedBlock block_of(const Options& o) {
  return o.get_string("block") == "bottleneck" ? SeedBlock::kBottleneck : SeedBlock::kResidualUnit;
}

template <typename Holder>
Model single_input(Holder net) {
  Model model;
  model.module = net.ptr();
  model.forward = [net](const std::vector<at::Tensor>& in) mutable {
    return std::vector<at::Tensor>{net->forward(in[0])};
  };
  return model;
}

Model build_block(const Options& o) {
  const int64_t in = o.get_int("in_");
  if (in != kNone && in < 1)
    throw Error(o.owner() + ": in_ must be positive or -1 (None), got " + std::to_string(in));
  const std::optional<int64_t> in_ = in == kNone ? std::nullopt : std::optional<int64_t>(in);
  if (block_of(o) == SeedBlock::kResidualUnit)
    return single_input(seed001::ResidualUnit(o.get_int("middle_out"), o.get_int("stride1"), in_));
  return single_input(seed001::Bottleneck(o.get_int("middle_out"), o.get_int("stride1"), in_));
}

}  // namespace

std::vector<ModelSpec> seed_resnet_specs() {
  std::vector<ModelSpec> specs;
  // Defaults: the seed's res34 = ResNet(ResidualUnit, [3,4,6,3], num_classes=1000).
  specs.push_back(ModelSpec{
      "seed_resnet", "classification", "seeds/001 ResNet (layer1, layer2_x..layer5_x, avgpool, fc)",
      {block_option(),
       {"layers", OptionType::kIntList, IntList{3, 4, 6, 3}, "blocks in layer2_x..layer5_x", {}},
       {"num_classes", OptionType::kInt, int64_t{1000}, "size of the classifier output", {}}},
      {"x"},
      {{1, 3, 224, 224}},
      [](const Options& o) {
        return single_input(seed001::ResNet(block_of(o), o.get_int_list("layers"), o.get_int("num_classes")));
      }});
  // Defaults: the seed's conv2_x_34 = make_layers(ResidualUnit, 64, 3, afterconv1=True).
  specs.push_back(ModelSpec{
      "seed_layer", "blocks", "one make_layers(...) stage of seeds/001 (default: its conv2_x_34)",
      {block_option(),
       {"middle_out", OptionType::kInt, int64_t{64}, "the stage's width (ResidualUnit out_, Bottleneck middle_out)", {}},
       {"num_blocks", OptionType::kInt, int64_t{3}, "blocks in the stage", {}},
       {"afterconv1", OptionType::kBool, true,
        "first stage after conv1: the first block takes in_=64 and keeps the map size", {}}},
      {"x"},
      {{1, 64, 56, 56}},
      [](const Options& o) {
        return single_input(seed001::make_layers(block_of(o), o.get_int("middle_out"), o.get_int("num_blocks"),
                                                 o.get_bool("afterconv1")));
      }});
  // Defaults: the seed's conv2_x_18_0 = ResidualUnit(out_=64).
  specs.push_back(ModelSpec{
      "seed_block", "blocks", "one ResidualUnit or Bottleneck of seeds/001 (default: its conv2_x_18_0)",
      {block_option(),
       {"middle_out", OptionType::kInt, int64_t{64}, "ResidualUnit's out_ or Bottleneck's middle_out", {}},
       {"stride1", OptionType::kInt, int64_t{1}, "stride of the block's first conv (2 halves the map)", {}},
       {"in_", OptionType::kInt, kNone,
        "input width; -1 is the seed's None (its rule); ResidualUnit ignores it, as the seed does", {}}},
      {"x"},
      {{1, 64, 56, 56}},
      build_block});
  return specs;
}

}  // namespace reskit::models
