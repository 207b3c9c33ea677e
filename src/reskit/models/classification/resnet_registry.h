#pragma once
#include <vector>

#include "reskit/models/registry.h"

namespace reskit::models {

// resnet18 .. wide_resnet101_2, with torchvision's options.
std::vector<ModelSpec> torchvision_resnet_specs();

}  // namespace reskit::models
