#pragma once
// oneDNN's objects the backend's files share: the CPU engine, a run
// context's stream, memory descriptors of dense tensors, layout names.
#include <dnnl.hpp>

#include <memory>
#include <string>
#include <vector>

#include "reskit/engine/step.h"

namespace reskit::engine::onednn {

dnnl::engine& cpu_engine();

// A stream for one run context (streams are not shared between threads).
std::shared_ptr<void> make_stream();
dnnl::stream& context_stream(RunContext& context);

// A C-contiguous float32 tensor of these sizes.
dnnl::memory::desc plain_desc(const std::vector<int64_t>& sizes);

// "nchw", "nChw16c", "OIhw16i16o" ... as oneDNN's format tags name them; "blocked" for another.
std::string layout_name(const dnnl::memory::desc& desc);

// "1x64x56x56"
std::string shape_text(const std::vector<int64_t>& sizes);

}  // namespace reskit::engine::onednn
