#pragma once
#include <vector>

#include "reskit/models/registry.h"

namespace reskit::models {

// seed_resnet, seed_layer, seed_block: seeds/001's ResNet, one stage, one block.
std::vector<ModelSpec> seed_resnet_specs();

}  // namespace reskit::models
