#pragma once
// The engine's graph passes, each a function Graph -> Graph that keeps the
// results (to float rounding where it refolds constants), in the order
// compile() runs them:
//   fold_batch_norm        a convolution's eval-mode BatchNorm folded into
//                          its weight and bias (computed in float64);
//   convert_convolutions   LibTorch convolutions with constant weights (or
//                          float weights the run gives, for correlations)
//                          become reskit::conv, run on oneDNN or reskit's
//                          kernels whatever LibTorch's heuristics would choose;
//   fuse_conv_epilogues    a residual add (same shape) and then an activation
//                          (ReLU, LeakyReLU, SiLU, Sigmoid, ReLU6, Hardtanh)
//                          after a reskit::conv, when nothing else reads its
//                          output, become part of that convolution;
//   fold_constants         a node whose inputs are all constants runs once,
//                          at compile time, and its outputs become constants;
//   eliminate_dead_code    nodes nothing reads (the traced output tuple).
#include <string>
#include <vector>

#include "graph.h"

namespace reskit::engine {

struct Pass {
  const char* name;
  void (*run)(Graph&);
};
const std::vector<Pass>& passes();

void fold_batch_norm(Graph& graph);
void convert_convolutions(Graph& graph);
void fuse_conv_epilogues(Graph& graph);
void fold_constants(Graph& graph);
void eliminate_dead_code(Graph& graph);

}  // namespace reskit::engine
