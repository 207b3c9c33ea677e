#pragma once
#include <vector>

#include "reskit/models/registry.h"

namespace reskit::models {

// resnet3d (mmaction2's ResNet3d backbone) and i3d_r50 (its Recognizer3D), with their options and defaults.
std::vector<ModelSpec> resnet3d_specs();

}  // namespace reskit::models
