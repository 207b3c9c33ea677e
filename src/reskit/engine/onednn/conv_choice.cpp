#include "conv_choice.h"

#include <algorithm>
#include <chrono>
#include <limits>
#include <sstream>

#include "onednn_util.h"
#include "tuning_cache.h"

namespace reskit::engine::onednn {
namespace {

using dnnl::memory;

memory::dims to_dims(const std::vector<int64_t>& v) { return memory::dims(v.begin(), v.end()); }

memory::dims weights_dims(const ConvShape& s) {
  memory::dims d = to_dims(s.weights);
  if (s.groups == 1) return d;
  d[0] /= s.groups;
  d.insert(d.begin(), s.groups);
  return d;
}

bool good_impl(const dnnl::primitive_desc_base& pd) {
  const std::string impl = pd.impl_info_str();
  return impl.rfind("jit", 0) == 0 || impl.rfind("brg", 0) == 0;
}

struct Candidate {
  dnnl::convolution_forward::primitive_desc pd;
  std::string name;
};

std::vector<Candidate> candidates(const ConvShape& s, bool has_bias, const dnnl::primitive_attr& attr,
                                  const memory::desc& src, const memory::desc& dst) {
  const memory::desc any_src(to_dims(s.src), memory::data_type::f32, memory::format_tag::any);
  const memory::desc any_dst(to_dims(s.dst), memory::data_type::f32, memory::format_tag::any);
  const memory::desc weights(weights_dims(s), memory::data_type::f32, memory::format_tag::any);
  const memory::desc bias =
      has_bias ? memory::desc({s.weights[0]}, memory::data_type::f32, memory::format_tag::any) : memory::desc();
  memory::dims dilates;
  for (int64_t d : s.dilation) dilates.push_back(d - 1);
  const bool unit_3x3 = s.groups == 1 &&
                        std::all_of(s.kernel.begin(), s.kernel.end(), [](int64_t k) { return k == 3; }) &&
                        std::all_of(s.stride.begin(), s.stride.end(), [](int64_t v) { return v == 1; }) &&
                        std::all_of(s.dilation.begin(), s.dilation.end(), [](int64_t v) { return v == 1; }) &&
                        s.kernel.size() == 2;
  std::vector<std::pair<dnnl::algorithm, const char*>> algorithms = {{dnnl::algorithm::convolution_direct, "direct"}};
  if (unit_3x3) algorithms.emplace_back(dnnl::algorithm::convolution_winograd, "winograd");

  std::vector<Candidate> out;
  const memory::desc wanted_dst = dst.get_size() > 0 ? dst : any_dst;
  for (const auto& [alg, alg_name] : algorithms) {
    for (const memory::desc& source : {src, any_src}) {
      try {
        const dnnl::convolution_forward::desc desc(dnnl::prop_kind::forward_inference, alg, source, weights, bias,
                                                   wanted_dst, to_dims(s.stride), dilates, to_dims(s.padding_l),
                                                   to_dims(s.padding_r));
        dnnl::convolution_forward::primitive_desc pd(desc, attr, cpu_engine());
        if (!good_impl(pd)) continue;
        const bool duplicate = std::any_of(out.begin(), out.end(), [&](const Candidate& c) {
          return std::string(c.pd.impl_info_str()) == pd.impl_info_str() && c.pd.src_desc() == pd.src_desc();
        });
        if (!duplicate) out.push_back({pd, std::string("onednn ") + alg_name + " " + pd.impl_info_str()});
      } catch (const dnnl::error&) {
        // no kernel for this combination
      }
    }
  }
  return out;
}

// The least time of a few runs of `pd` on zeroed buffers, in ms, with the
// conversion its source would need if it differs from `src`.
double time_candidate(const Candidate& c, const memory::desc& src) {
  dnnl::stream stream(cpu_engine());
  const dnnl::convolution_forward conv(c.pd);
  std::unordered_map<int, memory> args;
  const auto zeroed = [&](const memory::desc& d) {
    memory m(d, cpu_engine());
    std::fill_n(static_cast<char*>(m.get_data_handle()), d.get_size(), 0);
    return m;
  };
  args.emplace(DNNL_ARG_SRC, zeroed(c.pd.src_desc()));
  args.emplace(DNNL_ARG_WEIGHTS, zeroed(c.pd.weights_desc()));
  if (c.pd.bias_desc().get_size() > 0) args.emplace(DNNL_ARG_BIAS, zeroed(c.pd.bias_desc()));
  args.emplace(DNNL_ARG_DST, zeroed(c.pd.dst_desc()));
  if (c.pd.scratchpad_desc().get_size() > 0) args.emplace(DNNL_ARG_SCRATCHPAD, zeroed(c.pd.scratchpad_desc()));
  std::optional<dnnl::reorder> convert;
  memory given;
  if (!(c.pd.src_desc() == src)) {
    given = zeroed(src);
    convert = dnnl::reorder(given, args.at(DNNL_ARG_SRC));
  }
  double best = std::numeric_limits<double>::infinity();
  for (int run = 0; run < 4; ++run) {
    const auto start = std::chrono::steady_clock::now();
    if (convert) convert->execute(stream, given, args.at(DNNL_ARG_SRC));
    conv.execute(stream, args);
    stream.wait();
    const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    if (run > 0) best = std::min(best, ms);  // the first run pays for the first touch
  }
  return best;
}

std::string cache_key(const ConvShape& s, bool has_bias, const dnnl::primitive_attr& attr, const memory::desc& src,
                      const memory::desc& dst) {
  std::ostringstream k;
  k << "conv src=" << shape_text(s.src) << ":" << layout_name(src) << " w=" << shape_text(s.weights)
    << " dst=" << shape_text(s.dst) << ":" << (dst.get_size() ? layout_name(dst) : "any") << " k=" << shape_text(s.kernel)
    << " s=" << shape_text(s.stride) << " d=" << shape_text(s.dilation) << " pl=" << shape_text(s.padding_l)
    << " pr=" << shape_text(s.padding_r) << " g=" << s.groups << " bias=" << has_bias
    << " post=" << attr.get_post_ops().len();
  return k.str();
}

}  // namespace

memory::desc weights_plain_desc(const ConvShape& s) {
  const memory::dims d = weights_dims(s);
  memory::dims strides(d.size());
  memory::dim stride = 1;
  for (size_t i = d.size(); i-- > 0;) {
    strides[i] = stride;
    stride *= d[i];
  }
  return memory::desc(d, memory::data_type::f32, strides);
}

ConvChoice choose_convolution(const ConvShape& shape, bool has_bias, const dnnl::primitive_attr& attr,
                              const memory::desc& src, const memory::desc& dst) {
  const std::vector<Candidate> all = candidates(shape, has_bias, attr, src, dst);
  if (all.empty()) {
    if (dst.get_size() > 0) return choose_convolution(shape, has_bias, attr, src, memory::desc());
    throw dnnl::error(dnnl_unimplemented, "no JIT convolution for this layer");
  }
  size_t pick = 0;
  if (all.size() > 1 && tuning_enabled()) {
    const std::string key = cache_key(shape, has_bias, attr, src, dst);
    const std::optional<std::string> cached = find_tuned(key);
    const auto named = [&](const std::string& name) {
      for (size_t i = 0; i < all.size(); ++i)
        if (all[i].name + " src=" + layout_name(all[i].pd.src_desc()) == name) return static_cast<int64_t>(i);
      return int64_t{-1};
    };
    const int64_t known = cached ? named(*cached) : -1;
    if (known >= 0) {
      pick = static_cast<size_t>(known);
    } else {
      double best = std::numeric_limits<double>::infinity();
      for (size_t i = 0; i < all.size(); ++i) {
        const double ms = time_candidate(all[i], src);
        if (ms < best) {
          best = ms;
          pick = i;
        }
      }
      store_tuned(key, all[pick].name + " src=" + layout_name(all[pick].pd.src_desc()));
    }
  }
  return {all[pick].pd, dnnl::convolution_forward(all[pick].pd), all[pick].name};
}

}  // namespace reskit::engine::onednn
