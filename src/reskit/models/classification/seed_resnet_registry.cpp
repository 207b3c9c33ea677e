// seed_resnet, seed_layer, seed_block: seeds/001's ResNet, one stage, one block.
#include <optional>
#include <string>

#include "reskit/core/error.h"
#include "reskit/models/classification/seed_resnet.h"
#include "reskit/models/registry.h"

namespace reskit::models::classification {
namespace {

using seed001::SeedBlock;

// The seed's in_=None, which an int option cannot hold.
constexpr int64_t kNone = -1;

// Defaults: the seed's res34 = ResNet(ResidualUnit, [3,4,6,3], num_classes=1000).
struct SeedResNetOptions {
#define RESKIT_FIELDS(X)                                                                   \
  X(SeedBlock, block, SeedBlock::kResidualUnit, "the seed's ResidualUnit or Bottleneck")  \
  X(IntList, layers, (IntList{3, 4, 6, 3}), "blocks in layer2_x..layer5_x")               \
  X(int64_t, num_classes, 1000, "size of the classifier output")
  RESKIT_OPTIONS(RESKIT_FIELDS)
#undef RESKIT_FIELDS
};

// Defaults: the seed's conv2_x_34 = make_layers(ResidualUnit, 64, 3, afterconv1=True).
struct SeedLayerOptions {
#define RESKIT_FIELDS(X)                                                                            \
  X(SeedBlock, block, SeedBlock::kResidualUnit, "the seed's ResidualUnit or Bottleneck")           \
  X(int64_t, middle_out, 64, "the stage's width (ResidualUnit out_, Bottleneck middle_out)")        \
  X(int64_t, num_blocks, 3, "blocks in the stage")                                                  \
  X(bool, afterconv1, true, "first stage after conv1: the first block takes in_=64 and keeps the map size")
  RESKIT_OPTIONS(RESKIT_FIELDS)
#undef RESKIT_FIELDS
};

// Defaults: the seed's conv2_x_18_0 = ResidualUnit(out_=64).
struct SeedBlockOptions {
#define RESKIT_FIELDS(X)                                                                      \
  X(SeedBlock, block, SeedBlock::kResidualUnit, "the seed's ResidualUnit or Bottleneck")     \
  X(int64_t, middle_out, 64, "ResidualUnit's out_ or Bottleneck's middle_out")               \
  X(int64_t, stride1, 1, "stride of the block's first conv (2 halves the map)")              \
  X(int64_t, in_, kNone, "input width; -1 is the seed's None (its rule); ResidualUnit ignores it, as the seed does")
  RESKIT_OPTIONS(RESKIT_FIELDS)
#undef RESKIT_FIELDS
};

Model build_block(const SeedBlockOptions& o) {
  if (o.in_() != kNone && o.in_() < 1)
    throw Error("seed_block: in_ must be positive or -1 (None), got " + std::to_string(o.in_()));
  const std::optional<int64_t> in_ = o.in_() == kNone ? std::nullopt : std::optional<int64_t>(o.in_());
  if (o.block() == SeedBlock::kResidualUnit)
    return single_output_model(seed001::ResidualUnit(o.middle_out(), o.stride1(), in_));
  return single_output_model(seed001::Bottleneck(o.middle_out(), o.stride1(), in_));
}

std::vector<ModelSpec> specs() {
  return {
      model_spec({"seed_resnet", "classification", "seeds/001 ResNet (layer1, layer2_x..layer5_x, avgpool, fc)",
                  {"x"}, {{1, 3, 224, 224}}},
                 SeedResNetOptions(),
                 [](const SeedResNetOptions& o) {
                   return single_output_model(seed001::ResNet(o.block(), o.layers(), o.num_classes()));
                 }),
      model_spec({"seed_layer", "blocks", "one make_layers(...) stage of seeds/001 (default: its conv2_x_34)", {"x"},
                  {{1, 64, 56, 56}}},
                 SeedLayerOptions(),
                 [](const SeedLayerOptions& o) {
                   return single_output_model(
                       seed001::make_layers(o.block(), o.middle_out(), o.num_blocks(), o.afterconv1()));
                 }),
      model_spec({"seed_block", "blocks", "one ResidualUnit or Bottleneck of seeds/001 (default: its conv2_x_18_0)",
                  {"x"}, {{1, 64, 56, 56}}},
                 SeedBlockOptions(), build_block),
  };
}

}  // namespace

RESKIT_REGISTER_MODELS(classification, 2, specs);

}  // namespace reskit::models::classification
