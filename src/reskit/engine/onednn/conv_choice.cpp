#include "conv_choice.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <sstream>
#include <unordered_map>

#include <ATen/Parallel.h>

#include "../kernels/direct_conv.h"
#include "../kernels/winograd.h"
#include "onednn_util.h"
#include "tuning_cache.h"

namespace reskit::engine::onednn {
namespace {

using dnnl::memory;

memory::dims weights_dims(const ConvShape& s) {
  memory::dims d = to_dims(s.weights);
  if (s.groups == 1) return d;
  d[0] /= s.groups;
  d.insert(d.begin(), s.groups);
  return d;
}

// A 2-D convolution's shape as reskit's kernels take it.
kernels::DirectShape direct_shape(const ConvShape& s) {
  kernels::DirectShape d;
  d.batch = s.src[0];
  d.in_channels = s.src[1];
  d.out_channels = s.dst[1];
  d.height = s.src[2];
  d.width = s.src[3];
  d.out_height = s.dst[2];
  d.out_width = s.dst[3];
  d.kernel_h = s.kernel[0];
  d.kernel_w = s.kernel[1];
  d.stride_h = s.stride[0];
  d.stride_w = s.stride[1];
  d.dilation_h = s.dilation[0];
  d.dilation_w = s.dilation[1];
  d.pad_top = s.padding_l[0];
  d.pad_left = s.padding_l[1];
  return d;
}

// The same for Winograd, which needs no kernel size or stride (3x3, 1).
kernels::WinogradShape winograd_shape(const ConvShape& s) {
  const kernels::DirectShape d = direct_shape(s);
  kernels::WinogradShape w;
  w.batch = d.batch;
  w.in_channels = d.in_channels;
  w.out_channels = d.out_channels;
  w.height = d.height;
  w.width = d.width;
  w.out_height = d.out_height;
  w.out_width = d.out_width;
  w.pad_top = d.pad_top;
  w.pad_left = d.pad_left;
  w.dilation_h = d.dilation_h;
  w.dilation_w = d.dilation_w;
  return w;
}

// The bias as oneDNN takes it (f32, its layout), or none.
memory::desc bias_desc(const ConvLayer& layer) {
  return layer.bias.defined()
             ? memory::desc({layer.shape.weights[0]}, memory::data_type::f32, memory::format_tag::any)
             : memory::desc();
}

// oneDNN counts dilation from 0 (none), PyTorch from 1.
memory::dims onednn_dilates(const ConvShape& s) {
  memory::dims d;
  for (int64_t x : s.dilation) d.push_back(x - 1);
  return d;
}

std::vector<ConvChoice> candidates(const ConvLayer& layer, const memory::desc& src, const memory::desc& dst) {
  const ConvShape& s = layer.shape;
  const memory::desc any_src(to_dims(s.src), memory::data_type::f32, memory::format_tag::any);
  const memory::desc any_dst(to_dims(s.dst), memory::data_type::f32, memory::format_tag::any);
  const memory::desc weights(weights_dims(s), memory::data_type::f32, memory::format_tag::any);
  const memory::desc bias = bias_desc(layer);
  const memory::dims dilates = onednn_dilates(s);
  const auto all_one = [](const std::vector<int64_t>& v) {
    return std::all_of(v.begin(), v.end(), [](int64_t x) { return x == 1; });
  };
  // Unit-stride 3x3: reskit's Winograd runs dilated ones too (the atrous phases), oneDNN's does not.
  const bool unit_3x3 = s.groups == 1 && s.kernel.size() == 2 &&
                        std::all_of(s.kernel.begin(), s.kernel.end(), [](int64_t k) { return k == 3; }) &&
                        all_one(s.stride);
  std::vector<std::pair<dnnl::algorithm, const char*>> algorithms = {{dnnl::algorithm::convolution_direct, "direct"}};
  if (unit_3x3 && all_one(s.dilation)) algorithms.emplace_back(dnnl::algorithm::convolution_winograd, "winograd");

  std::vector<ConvChoice> out;
  const memory::desc wanted_dst = dst.get_size() > 0 ? dst : any_dst;
  for (const auto& [alg, alg_name] : algorithms) {
    for (const memory::desc& source : {src, any_src}) {
      try {
        const dnnl::convolution_forward::desc desc(dnnl::prop_kind::forward_inference, alg, source, weights, bias,
                                                   wanted_dst, to_dims(s.stride), dilates, to_dims(s.padding_l),
                                                   to_dims(s.padding_r));
        dnnl::convolution_forward::primitive_desc pd(desc, layer.attr, cpu_engine());
        if (!good_impl(pd)) continue;
        const bool duplicate = std::any_of(out.begin(), out.end(), [&](const ConvChoice& c) {
          return c.pd && std::string(c.pd->impl_info_str()) == pd.impl_info_str() && c.src == pd.src_desc();
        });
        if (!duplicate)
          out.push_back({std::string("onednn ") + alg_name + " " + pd.impl_info_str(), pd.src_desc(), pd.dst_desc(), pd,
                        nullptr, nullptr});
      } catch (const dnnl::error&) {
        // no kernel for this combination
      }
    }
  }

  // reskit's own kernels, on the blocked layout of their ISA.
  const kernels::Isa isa = kernels::best_isa();
  const memory::format_tag tag = kernels::isa_lanes(isa) == 16 ? memory::format_tag::nChw16c : memory::format_tag::nChw8c;
  const bool blocked_fits = layer.epilogue && s.src.size() == 4 && s.groups == 1;
  const memory::desc blocked_src = blocked_fits ? memory::desc(to_dims(s.src), memory::data_type::f32, tag) : memory::desc();
  const memory::desc blocked_dst = blocked_fits ? memory::desc(to_dims(s.dst), memory::data_type::f32, tag) : memory::desc();
  const bool blocked_dst_allowed = dst.get_size() == 0 || dst == blocked_dst;
  if (blocked_fits && blocked_dst_allowed && unit_3x3 && kernels::WinogradConv::supports(winograd_shape(s), isa)) {
    ConvChoice c{std::string("reskit winograd 4x4 ") + (all_one(s.dilation) ? "" : "atrous ") + kernels::isa_name(isa),
                 blocked_src, blocked_dst, std::nullopt, nullptr, nullptr};
    c.make_own = [&layer, isa] {
      return std::make_shared<const kernels::WinogradConv>(winograd_shape(layer.shape), layer.weight, layer.bias,
                                                           *layer.epilogue, isa);
    };
    out.push_back(std::move(c));
  }
  if (blocked_fits && blocked_dst_allowed && kernels::DirectConv::supports(direct_shape(s), isa)) {
    ConvChoice c{std::string("reskit direct ") + kernels::isa_name(isa), blocked_src, blocked_dst, std::nullopt,
                 nullptr, nullptr};
    c.make_own = [&layer, isa] {
      return std::make_shared<const kernels::DirectConv>(direct_shape(layer.shape), layer.weight, layer.bias,
                                                         *layer.epilogue, isa);
    };
    out.push_back(std::move(c));
  }
  return out;
}

// A candidate with its kernel made.
ConvChoice made(ConvChoice c) {
  if (c.make_own && !c.own) c.own = c.make_own();
  c.make_own = nullptr;  // it refers to the layer, which the choice outlives
  return c;
}

memory zeroed(const memory::desc& d) {
  memory m(d, cpu_engine());
  std::fill_n(static_cast<char*>(m.get_data_handle()), d.get_size(), 0);
  return m;
}

// `desc`'s dims in the layout of `like`, or an empty desc where `like`'s layout has no tag.
memory::desc in_layout_of(const memory::desc& like, const memory::desc& desc) {
  const std::optional<memory::format_tag> t = format_tag_of(like);
  if (!t) return memory::desc();
  try {
    return memory::desc(desc.dims(), desc.data_type(), *t);
  } catch (const dnnl::error&) {
    return memory::desc();
  }
}

// One candidate made ready to time on zeroed buffers, with the conversions
// a change of layout costs: of the source into the candidate's layout, and
// of its output back into the source's (what the next layer, most likely in
// the network's prevailing layout, would pay).
class CandidateRun {
 public:
  CandidateRun(const ConvChoice& c, const memory::desc& src) : stream_(cpu_engine()) {
    source_ = zeroed(c.src);
    destination_ = zeroed(c.dst);
    if (!(c.src == src)) {
      given_ = zeroed(src);
      convert_ = dnnl::reorder(given_, source_);
    }
    const memory::desc back_desc = in_layout_of(src, c.dst);
    if (back_desc.get_size() > 0 && !(back_desc == c.dst)) {
      back_ = zeroed(back_desc);
      convert_back_ = dnnl::reorder(destination_, back_);
    }
    if (c.pd) {
      args_.emplace(DNNL_ARG_SRC, source_);
      args_.emplace(DNNL_ARG_WEIGHTS, zeroed(c.pd->weights_desc()));
      if (c.pd->bias_desc().get_size() > 0) args_.emplace(DNNL_ARG_BIAS, zeroed(c.pd->bias_desc()));
      args_.emplace(DNNL_ARG_DST, destination_);
      if (c.pd->scratchpad_desc().get_size() > 0)
        args_.emplace(DNNL_ARG_SCRATCHPAD, zeroed(c.pd->scratchpad_desc()));
      conv_ = dnnl::convolution_forward(*c.pd);
    } else {
      own_ = c.own;
      scratch_.resize(own_->scratch_bytes(at::get_num_threads()) + 64);
    }
  }

  // One run, in ms.
  double once() {
    const auto start = std::chrono::steady_clock::now();
    if (convert_) convert_->execute(stream_, given_, source_);
    if (own_) {
      std::byte* aligned = scratch_.data() + (64 - reinterpret_cast<uintptr_t>(scratch_.data()) % 64) % 64;
      own_->run(static_cast<const float*>(source_.get_data_handle()),
                static_cast<float*>(destination_.get_data_handle()), aligned);
    } else {
      conv_->execute(stream_, args_);
    }
    if (convert_back_) convert_back_->execute(stream_, destination_, back_);
    stream_.wait();
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  }

 private:
  dnnl::stream stream_;
  memory source_, destination_, given_, back_;
  std::optional<dnnl::reorder> convert_, convert_back_;
  std::unordered_map<int, memory> args_;
  std::optional<dnnl::convolution_forward> conv_;
  std::shared_ptr<const kernels::OwnConv> own_;
  std::vector<std::byte> scratch_;
};

// Each candidate's least time in ms, the candidates taking turns round by
// round (a burst of another process's work then slows them all, not one),
// for at least kRounds rounds and until each has run for kEnoughMs or
// kMaxRounds rounds have passed; the first round pays for the first touch
// and does not count.
std::vector<double> time_candidates(const std::vector<ConvChoice>& all, const memory::desc& src) {
  constexpr int kRounds = 5, kMaxRounds = 20;
  constexpr double kEnoughMs = 25;
  std::vector<CandidateRun> runs;
  for (const ConvChoice& c : all) runs.emplace_back(c, src);
  std::vector<double> best(all.size(), std::numeric_limits<double>::infinity()), spent(all.size(), 0);
  for (int round = 0; round < kMaxRounds; ++round) {
    for (size_t i = 0; i < runs.size(); ++i) {
      const double ms = runs[i].once();
      spent[i] += ms;
      if (round > 0) best[i] = std::min(best[i], ms);
    }
    if (round + 1 >= kRounds && *std::min_element(spent.begin(), spent.end()) >= kEnoughMs) break;
  }
  return best;
}

size_t weight_bytes(const ConvChoice& c) {
  return c.own ? c.own->weight_bytes() : c.pd->weights_desc().get_size();
}

// The fastest candidate, unless its weights grow (Winograd's transformed
// ones, 1.8x to 4x) and one that keeps them near their size is within a few
// percent: at 7x7 oneDNN's Winograd ties direct and would hold 1.8x the
// weights for nothing, which the process's peak memory pays.
size_t lean_pick(const std::vector<ConvChoice>& all, const std::vector<double>& ms, size_t plain_bytes) {
  constexpr double kGrown = 1.25, kMargin = 1.05;
  const auto grows = [&](size_t i) { return static_cast<double>(weight_bytes(all[i])) > kGrown * static_cast<double>(plain_bytes); };
  const size_t fastest = static_cast<size_t>(std::min_element(ms.begin(), ms.end()) - ms.begin());
  if (!grows(fastest)) return fastest;
  std::optional<size_t> lean;
  for (size_t i = 0; i < all.size(); ++i)
    if (!grows(i) && (!lean || ms[i] < ms[*lean])) lean = i;
  return lean && ms[*lean] <= kMargin * ms[fastest] ? *lean : fastest;
}

std::string cache_key(const ConvLayer& layer, const memory::desc& src, const memory::desc& dst) {
  const ConvShape& s = layer.shape;
  std::ostringstream k;
  k << "conv src=" << shape_text(s.src) << ":" << layout_name(src) << " w=" << shape_text(s.weights)
    << " dst=" << shape_text(s.dst) << ":" << (dst.get_size() ? layout_name(dst) : "any") << " k=" << shape_text(s.kernel)
    << " s=" << shape_text(s.stride) << " d=" << shape_text(s.dilation) << " pl=" << shape_text(s.padding_l)
    << " pr=" << shape_text(s.padding_r) << " g=" << s.groups << " bias=" << layer.bias.defined()
    << " post=" << (layer.post_ops.empty() ? "none" : layer.post_ops);
  return k.str();
}

}  // namespace

bool good_impl(const dnnl::primitive_desc_base& pd) {
  const std::string impl = pd.impl_info_str();
  return impl.rfind("jit", 0) == 0 || impl.rfind("brg", 0) == 0;
}

memory::desc weights_plain_desc(const ConvShape& s, memory::data_type type) {
  const memory::dims d = weights_dims(s);
  memory::dims strides(d.size());
  memory::dim stride = 1;
  for (size_t i = d.size(); i-- > 0;) {
    strides[i] = stride;
    stride *= d[i];
  }
  return memory::desc(d, type, strides);
}

std::optional<ConvChoice> choose_bf16_convolution(const ConvLayer& layer, const memory::desc& dst) {
  const ConvShape& s = layer.shape;
  const memory::desc src(to_dims(s.src), memory::data_type::bf16, memory::format_tag::any);
  const memory::desc weights(weights_dims(s), memory::data_type::bf16, memory::format_tag::any);
  const memory::desc bias = bias_desc(layer);
  const memory::dims dilates = onednn_dilates(s);
  // The destination asked for (a residual overwritten in place), else oneDNN's choice.
  std::vector<memory::desc> outs;
  if (dst.get_size() > 0) outs.push_back(dst);
  outs.emplace_back(to_dims(s.dst), memory::data_type::f32, memory::format_tag::any);
  for (const memory::desc& out : outs) {
    try {
      const dnnl::convolution_forward::desc desc(dnnl::prop_kind::forward_inference, dnnl::algorithm::convolution_direct,
                                                 src, weights, bias, out, to_dims(s.stride), dilates,
                                                 to_dims(s.padding_l), to_dims(s.padding_r));
      dnnl::convolution_forward::primitive_desc pd(desc, layer.attr, cpu_engine());
      if (good_impl(pd))
        return ConvChoice{std::string("onednn bf16 ") + pd.impl_info_str(), pd.src_desc(), pd.dst_desc(), pd,
                          nullptr, nullptr};
    } catch (const dnnl::error&) {
      // no bf16 kernel for this combination
    }
  }
  return std::nullopt;
}

bool bf16_convolutions_available() {
  // Probed once: the CPU and oneDNN's ISA cap do not change while the process runs.
  static const bool available = [] {
    ConvLayer probe;
    probe.shape = {{1, 16, 8, 8}, {16, 16, 3, 3}, {1, 16, 8, 8}, {3, 3}, {1, 1}, {1, 1}, {1, 1}, {1, 1}, 1};
    return choose_bf16_convolution(probe, memory::desc()).has_value();
  }();
  return available;
}

ConvChoice choose_convolution(const ConvLayer& layer, const memory::desc& src, const memory::desc& dst) {
  std::vector<ConvChoice> all = candidates(layer, src, dst);
  if (all.empty()) {
    if (dst.get_size() > 0) return choose_convolution(layer, src, memory::desc());
    throw dnnl::error(dnnl_unimplemented, "no JIT convolution for this layer");
  }
  // RESKIT_CONV_KERNEL=text: only the candidates whose name holds it, where
  // one does (so that a test or a user runs one kernel wherever it can run).
  const char* wanted = std::getenv("RESKIT_CONV_KERNEL");
  const bool forced = wanted && *wanted && std::any_of(all.begin(), all.end(), [&](const ConvChoice& c) {
                        return c.name.find(wanted) != std::string::npos;
                      });
  if (forced)
    all.erase(std::remove_if(all.begin(), all.end(),
                             [&](const ConvChoice& c) { return c.name.find(wanted) == std::string::npos; }),
              all.end());
  size_t pick = 0;
  const auto label = [&](const ConvChoice& c) { return c.name + " src=" + layout_name(c.src); };
  if (all.size() > 1 && tuning_enabled() && !forced) {
    const std::string key = cache_key(layer, src, dst);
    const std::optional<std::string> cached = find_tuned(key);
    const auto known = std::find_if(all.begin(), all.end(), [&](const ConvChoice& c) { return cached && label(c) == *cached; });
    if (known != all.end()) {
      pick = static_cast<size_t>(known - all.begin());
    } else {
      const bool log = std::getenv("RESKIT_TUNE_LOG") != nullptr;
      for (ConvChoice& c : all) c = made(std::move(c));
      const std::vector<double> ms = time_candidates(all, src);
      if (log)
        for (size_t i = 0; i < all.size(); ++i)
          std::fprintf(stderr, "tune %s: %.3f ms %s\n", key.c_str(), ms[i], label(all[i]).c_str());
      pick = lean_pick(all, ms, layer.weight.nbytes());
      store_tuned(key, label(all[pick]));
    }
  }
  return made(std::move(all[pick]));
}

}  // namespace reskit::engine::onednn
