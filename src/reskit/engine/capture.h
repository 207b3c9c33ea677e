#pragma once
// From a traced LibTorch graph to the engine's: constants become constant
// values, every other node keeps its JIT operation (the ATen fallback), and
// the traced tuple of outputs becomes the graph's outputs.
#include <torch/csrc/jit/ir/ir.h>

#include "graph.h"

namespace reskit::engine {

// `jit_graph` as trace_graph() makes it (no module input). A node whose op
// has no JIT operation is a one-line reskit::Error naming it.
// Runs LibTorch's constant propagation on it first.
Graph import_jit_graph(std::shared_ptr<torch::jit::Graph> jit_graph);

}  // namespace reskit::engine
