#include "onednn_util.h"

namespace reskit::engine::onednn {

dnnl::engine& cpu_engine() {
  static dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  return engine;
}

std::shared_ptr<void> make_stream() { return std::make_shared<dnnl::stream>(cpu_engine()); }

dnnl::stream& context_stream(RunContext& context) { return *static_cast<dnnl::stream*>(context.backend.get()); }

dnnl::memory::desc plain_desc(const std::vector<int64_t>& sizes) {
  dnnl::memory::dims dims(sizes.begin(), sizes.end()), strides(sizes.size());
  dnnl::memory::dim stride = 1;
  for (size_t i = sizes.size(); i-- > 0;) {
    strides[i] = stride;
    stride *= sizes[i];
  }
  return dnnl::memory::desc(dims, dnnl::memory::data_type::f32, strides);
}

namespace {

using tag = dnnl::memory::format_tag;
const std::vector<std::pair<tag, const char*>>& activation_tags() {
  static const std::vector<std::pair<tag, const char*>> tags = {
      {tag::a, "a"},         {tag::ab, "ab"},           {tag::nchw, "nchw"},       {tag::nhwc, "nhwc"},
      {tag::nChw16c, "nChw16c"}, {tag::nChw8c, "nChw8c"}, {tag::ncdhw, "ncdhw"},   {tag::ndhwc, "ndhwc"},
      {tag::nCdhw16c, "nCdhw16c"}, {tag::nCdhw8c, "nCdhw8c"}, {tag::ncw, "ncw"},  {tag::nCw16c, "nCw16c"},
      {tag::nCw8c, "nCw8c"}};
  return tags;
}

}  // namespace

dnnl::memory::dims to_dims(const std::vector<int64_t>& sizes) { return dnnl::memory::dims(sizes.begin(), sizes.end()); }

std::optional<dnnl::memory::format_tag> format_tag_of(const dnnl::memory::desc& desc) {
  const dnnl::memory::dims dims = desc.dims();
  for (const auto& [t, name] : activation_tags()) {
    try {
      if (dnnl::memory::desc(dims, desc.data_type(), t) == desc) return t;
    } catch (const dnnl::error&) {
      // a tag of another rank
    }
  }
  return std::nullopt;
}

std::string layout_name(const dnnl::memory::desc& desc) {
  const std::optional<tag> t = format_tag_of(desc);
  if (!t) return "blocked";
  for (const auto& [known, name] : activation_tags())
    if (known == *t) return name;
  return "blocked";
}

std::string shape_text(const std::vector<int64_t>& sizes) {
  std::string s;
  for (size_t i = 0; i < sizes.size(); ++i) s += (i ? "x" : "") + std::to_string(sizes[i]);
  return s;
}

}  // namespace reskit::engine::onednn
