#pragma once
// oneDNN's objects the backend's files share: the CPU engine, a run
// context's stream, memory descriptors of dense tensors, layout names.
#include <dnnl.hpp>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "../step.h"

namespace reskit::engine::onednn {

dnnl::engine& cpu_engine();

// A stream for one run context (streams are not shared between threads).
std::shared_ptr<void> make_stream();
dnnl::stream& context_stream(RunContext& context);

dnnl::memory::dims to_dims(const std::vector<int64_t>& sizes);

// A C-contiguous float32 tensor of these sizes.
dnnl::memory::desc plain_desc(const std::vector<int64_t>& sizes);

// The format tag that lays `desc` out (nchw, nhwc, nChw16c ...), if it is one of the activations' tags.
std::optional<dnnl::memory::format_tag> format_tag_of(const dnnl::memory::desc& desc);

// "nchw", "nChw16c" ... as oneDNN's format tags name them; "blocked" for another layout.
std::string layout_name(const dnnl::memory::desc& desc);

// "1x64x56x56"
std::string shape_text(const std::vector<int64_t>& sizes);

}  // namespace reskit::engine::onednn
