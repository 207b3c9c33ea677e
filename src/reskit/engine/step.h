#pragma once
// What a plan runs: a list of steps, each one kernel call. A step reads and
// writes values in one of two homes:
//   tensors  LibTorch tensors in RunContext::values, by graph value id (graph
//            inputs, the ATen fallback's results, conversions for it);
//   buffers  the plan's own memory: regions of one arena per run context,
//            placed once at compile time by liveness (memory_plan.h), in
//            whatever layout the kernels writing them chose (oneDNN's blocked
//            nChw16c, say), so that nothing is allocated while a plan runs.
// A RunContext is what one run owns; a plan keeps a pool of them, so that
// concurrent runs never share one.
#include <ATen/core/ivalue.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace reskit::engine {

struct RunContext {
  std::vector<c10::IValue> values;  // tensor homes, by value id
  std::byte* arena = nullptr;       // buffer homes: arena + offsets[buffer]
  const std::vector<size_t>* offsets = nullptr;
  std::byte* scratchpad = nullptr;  // kernels' temporary space, shared by the steps one after another
  // Per step, what it keeps between runs in this context (oneDNN memory
  // objects over the arena, say): made on the step's first run here.
  std::vector<std::shared_ptr<void>> step_state;
  std::shared_ptr<void> backend;    // a backend's per-context objects (oneDNN's stream)

  void* buffer(int64_t id) const { return arena + (*offsets)[static_cast<size_t>(id)]; }
};

// Which homes a step touches, for liveness: tensors are released after their
// last reader, buffers share the arena where their lifetimes do not overlap.
struct StepIo {
  std::vector<int64_t> tensor_reads, tensor_writes;
  std::vector<int64_t> buffer_reads, buffer_writes;
};

class Step {
 public:
  virtual ~Step() = default;
  virtual void run(RunContext& context, size_t index) const = 0;
  // One line for dumps and profiles: "conv 3x3/1 64->64 56x56 [add,relu] (onednn direct)".
  virtual std::string text() const = 0;

  StepIo io;
  double flop = 0;  // multiply-adds x 2 of one run, for the profile
};

// A buffer: its size in bytes; where it is placed is the memory plan's.
struct BufferSpec {
  size_t bytes = 0;
  std::string layout;  // for dumps: "nChw16c 1x64x56x56"
};

}  // namespace reskit::engine
