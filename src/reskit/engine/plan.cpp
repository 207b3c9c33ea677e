#include "plan.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <ATen/core/grad_mode.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <sstream>

#include "reskit/core/error.h"
#include "reskit/core/memory.h"
#include "reskit/core/text_format.h"
#include "capture.h"
#include "lower.h"
#include "memory_plan.h"
#include "passes.h"
#include "streamed_memory.h"
#if RESKIT_HAVE_ONEDNN
#include "onednn/backend.h"
#include "onednn/conv_choice.h"
#endif

namespace reskit::engine {
namespace {

std::unique_ptr<Backend> make_cpu_backend([[maybe_unused]] std::shared_ptr<WeightPool> pool,
                                          [[maybe_unused]] std::shared_ptr<const Calibration> calibration,
                                          [[maybe_unused]] bool bf16) {
#if RESKIT_HAVE_ONEDNN
  if (bf16 && !bf16_supported())
    throw Error("engine: bf16 plans need a CPU with AVX-512 (oneDNN's bf16 convolutions; fast with AVX512_BF16 or AMX)");
  return onednn::make_backend(std::move(pool), std::move(calibration), bf16);
#else
  if (bf16) throw Error("engine: bf16 plans need reskit built with oneDNN");
  return nullptr;
#endif
}

// An arena, zeroed once (no kernel reads what it has not written, but
// padding lanes of blocked layouts are then defined).
struct Arena {
  explicit Arena(size_t bytes) : storage(allocate_streamed(bytes)), start(storage.get()) {
    std::memset(start, 0, bytes);
  }
  std::shared_ptr<std::byte> storage;
  std::byte* start = nullptr;
};

struct Context {
  RunContext run;
  std::unique_ptr<Arena> arena;
};

}  // namespace

bool bf16_supported() {
#if RESKIT_HAVE_ONEDNN
  return onednn::bf16_convolutions_available();
#else
  return false;
#endif
}

struct Plan::Impl {
  Graph graph;
  std::unique_ptr<Backend> backend;
  std::vector<std::unique_ptr<Step>> steps;
  std::vector<BufferSpec> buffers;
  MemoryPlan memory_plan;
  size_t scratchpad_bytes = 0, weight_bytes = 0;
  std::vector<std::vector<int64_t>> releases;  // per step: the tensor values it is the last to touch
  std::vector<std::vector<int64_t>> input_sizes;
  std::vector<std::pair<at::ScalarType, at::Device>> input_kinds;
  std::vector<std::pair<std::string, std::string>> dumps;
  int threads = 1;

  std::mutex pool_mutex;
  std::vector<std::unique_ptr<Context>> pool;

  std::unique_ptr<Context> take_context() {
    {
      std::lock_guard<std::mutex> lock(pool_mutex);
      if (!pool.empty()) {
        std::unique_ptr<Context> c = std::move(pool.back());
        pool.pop_back();
        return c;
      }
    }
    auto c = std::make_unique<Context>();
    const size_t scratch_offset = (memory_plan.arena_bytes + kAlignment - 1) / kAlignment * kAlignment;
    c->arena = std::make_unique<Arena>(scratch_offset + scratchpad_bytes);
    c->run.arena = c->arena->start;
    c->run.scratchpad = c->arena->start + scratch_offset;
    c->run.offsets = &memory_plan.offsets;
    c->run.values.resize(graph.values.size());
    c->run.step_state.resize(steps.size());
    if (backend) c->run.backend = backend->make_context_state();
    return c;
  }

  void give_back(std::unique_ptr<Context> c) {
    std::lock_guard<std::mutex> lock(pool_mutex);
    pool.push_back(std::move(c));
  }

  std::vector<at::Tensor> run(const std::vector<at::Tensor>& inputs, std::vector<StepTime>* times) {
    if (inputs.size() != input_sizes.size())
      throw Error("engine: the plan takes " + std::to_string(input_sizes.size()) + " inputs, got " +
                  std::to_string(inputs.size()));
    for (size_t i = 0; i < inputs.size(); ++i)
      if (inputs[i].sizes().vec() != input_sizes[i] || inputs[i].scalar_type() != input_kinds[i].first ||
          inputs[i].device() != input_kinds[i].second)
        throw Error("engine: input " + std::to_string(i) + " is " + sizes_text(inputs[i].sizes().vec()) + " " +
                    c10::toString(inputs[i].scalar_type()) + " on " + inputs[i].device().str() +
                    ", the plan was compiled for " + sizes_text(input_sizes[i]) + " " +
                    c10::toString(input_kinds[i].first) + " on " + input_kinds[i].second.str());
    // OpenMP's thread count is per calling thread: a run from a new thread
    // takes the plan's (the kernels' scratch is sized for it), not OpenMP's
    // default of every CPU. LibTorch's setter also sets its process-wide count,
    // to the same value.
    if (at::get_num_threads() != threads) at::set_num_threads(threads);
    at::NoGradGuard no_grad;
    std::unique_ptr<Context> context = take_context();
    RunContext& c = context->run;
    struct Clear {  // whatever happens, the context goes back holding no tensors
      Impl& impl;
      std::unique_ptr<Context>& context;
      ~Clear() {
        for (c10::IValue& v : context->run.values) v = c10::IValue();
        impl.give_back(std::move(context));
      }
    } clear{*this, context};
    for (size_t i = 0; i < inputs.size(); ++i) c.values[static_cast<size_t>(graph.inputs[i])] = inputs[i];
    for (size_t k = 0; k < steps.size(); ++k) {
      if (times) {
        const auto start = std::chrono::steady_clock::now();
        steps[k]->run(c, k);
        const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
        times->push_back({steps[k]->text(), steps[k]->flop, ms});
      } else {
        steps[k]->run(c, k);
      }
      for (int64_t v : releases[k]) c.values[static_cast<size_t>(v)] = c10::IValue();
    }
    std::vector<at::Tensor> outputs;
    for (int64_t v : graph.outputs) {
      // A constant output is copied: a caller's write must not reach later runs.
      outputs.push_back(graph.value(v).is_constant ? graph.value(v).constant.toTensor().clone()
                                                   : c.values[static_cast<size_t>(v)].toTensor());
    }
    return outputs;
  }
};

Plan::Plan() : impl_(std::make_unique<Impl>()) {}
Plan::~Plan() = default;
Plan::Plan(Plan&&) noexcept = default;
Plan& Plan::operator=(Plan&&) noexcept = default;

std::vector<at::Tensor> Plan::run(const std::vector<at::Tensor>& inputs) const { return impl_->run(inputs, nullptr); }

std::vector<at::Tensor> Plan::run_profiled(const std::vector<at::Tensor>& inputs, std::vector<StepTime>& times) const {
  times.clear();
  return impl_->run(inputs, &times);
}

const Graph& Plan::graph() const { return impl_->graph; }
const std::vector<std::pair<std::string, std::string>>& Plan::dumps() const { return impl_->dumps; }
size_t Plan::step_count() const { return impl_->steps.size(); }

PlanMemory Plan::memory() const {
  return {impl_->memory_plan.arena_bytes, impl_->memory_plan.peak_live_bytes, impl_->scratchpad_bytes,
          impl_->weight_bytes};
}

std::string Plan::steps_text() const {
  std::ostringstream s;
  const Impl& p = *impl_;
  for (size_t k = 0; k < p.steps.size(); ++k) {
    const Step& step = *p.steps[k];
    s << "  " << k << ": " << step.text();
    const auto list = [&](const char* name, const std::vector<int64_t>& buffers) {
      for (int64_t b : buffers)
        s << "  " << name << " b" << b << "@" << p.memory_plan.offsets[static_cast<size_t>(b)] << " "
          << p.buffers[static_cast<size_t>(b)].layout;
    };
    list("reads", step.io.buffer_reads);
    list("writes", step.io.buffer_writes);
    s << "\n";
  }
  const PlanMemory m = memory();
  s << "  arena " << m.arena_bytes << " bytes (" << m.peak_live_bytes << " live at most), scratchpad "
    << m.scratchpad_bytes << ", reordered weights " << m.weight_bytes << "\n";
  return s.str();
}

Plan compile(torch::nn::Module& root, const TensorFunction& forward, const std::vector<at::Tensor>& example,
             const CompileOptions& options) {
  Plan plan;
  Plan::Impl& p = *plan.impl_;
  {
    const TrimHeapAfterEachOp trim;
    p.graph = import_jit_graph(trace_graph(root, forward, example));
  }
  return_freed_memory();
  if (options.take_weights) {
    // The graph's constants share the weights' storage: it stays alive
    // through them, and goes as the passes and the lowering replace them.
    at::NoGradGuard no_grad;
    for (at::Tensor& t : root.parameters()) t.set_data(at::empty({0}, t.options()));
    for (at::Tensor& t : root.buffers()) t.set_data(at::empty({0}, t.options()));
  }
  if (options.dump) p.dumps.emplace_back("captured", to_text(p.graph));
  for (const Pass& pass : passes()) {
    pass.run(p.graph);
    release_unused_constants(p.graph);
    return_freed_memory();
    if (options.dump) p.dumps.emplace_back(pass.name, to_text(p.graph));
  }
  for (const at::Tensor& t : example) {
    p.input_sizes.push_back(t.sizes().vec());
    p.input_kinds.emplace_back(t.scalar_type(), t.device());
  }
  p.threads = at::get_num_threads();

  bool cpu = true;
  for (const at::Tensor& t : example) cpu = cpu && t.device().is_cpu();
  std::shared_ptr<const Calibration> calibration;
  if (options.precision == Precision::kInt8) {
    if (!options.use_backend || !cpu) throw Error("engine: int8 plans run on the CPU backend only");
    calibration = std::make_shared<Calibration>(calibrate(p.graph, options.calibration, options.progress));
  }
  const bool bf16 = options.precision == Precision::kBFloat16;
  if (bf16 && (!options.use_backend || !cpu)) throw Error("engine: bf16 plans run on the CPU backend only");
  if (options.use_backend && cpu) p.backend = make_cpu_backend(options.weight_pool, calibration, bf16);
  if (calibration && !p.backend) throw Error("engine: int8 plans need reskit built with oneDNN");
  Lowering::Result lowered = Lowering(p.graph, p.backend.get()).run();
  p.steps = std::move(lowered.steps);
  p.buffers = std::move(lowered.buffers);
  p.scratchpad_bytes = lowered.scratchpad_bytes;
  p.weight_bytes = lowered.weight_bytes;
  // The steps hold what they need (ATen steps their own references, kernels their copies).
  for (size_t v = 0; v < p.graph.values.size(); ++v)
    if (std::find(p.graph.outputs.begin(), p.graph.outputs.end(), static_cast<int64_t>(v)) == p.graph.outputs.end())
      release_constant(p.graph, static_cast<int64_t>(v));

  // Liveness. A buffer lives from the first to the last step that touches it;
  // a tensor is released by the last step that touches it, unless it is an output.
  std::vector<BufferLifetime> lifetimes(p.buffers.size());
  std::vector<bool> seen(p.buffers.size(), false);
  std::vector<int64_t> last_touch(p.graph.values.size(), -1);
  for (size_t k = 0; k < p.steps.size(); ++k) {
    const StepIo& io = p.steps[k]->io;
    for (const auto* list : {&io.buffer_reads, &io.buffer_writes})
      for (int64_t b : *list) {
        BufferLifetime& life = lifetimes[static_cast<size_t>(b)];
        life.bytes = p.buffers[static_cast<size_t>(b)].bytes;
        if (!seen[static_cast<size_t>(b)]) life.first = static_cast<int64_t>(k);
        seen[static_cast<size_t>(b)] = true;
        life.last = static_cast<int64_t>(k);
      }
    for (const auto* list : {&io.tensor_reads, &io.tensor_writes})
      for (int64_t v : *list) last_touch[static_cast<size_t>(v)] = static_cast<int64_t>(k);
  }
  for (int64_t v : p.graph.outputs) last_touch[static_cast<size_t>(v)] = -1;
  p.releases.assign(p.steps.size(), {});
  for (size_t v = 0; v < last_touch.size(); ++v)
    if (last_touch[v] >= 0) p.releases[static_cast<size_t>(last_touch[v])].push_back(static_cast<int64_t>(v));
  p.memory_plan = plan_memory(lifetimes);
  return_freed_memory();
  if (options.dump) p.dumps.emplace_back("lowered", plan.steps_text());
  return plan;
}

}  // namespace reskit::engine
