#pragma once
// The steps that run on LibTorch: a traced op through its JIT operation (the
// ATen fallback, whose results are LibTorch's own), and reskit::conv on
// ATen's convolution where no backend took it (a GPU, a dtype oneDNN lacks).
#include <memory>

#include "graph.h"
#include "step.h"

namespace reskit::engine {

std::unique_ptr<Step> make_aten_step(const Graph& graph, const Node& node);

}  // namespace reskit::engine
