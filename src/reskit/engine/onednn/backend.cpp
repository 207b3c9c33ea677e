#include "backend.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <dnnl.hpp>
#include <algorithm>
#include <optional>
#include <sstream>
#include <unordered_map>

#include "reskit/core/error.h"
#include "../kernels/depthwise_xcorr.h"
#include "../kernels/max_pool_pyramid.h"
#include "../streamed_memory.h"
#include "conv_choice.h"
#include "int8_conv.h"
#include "onednn_util.h"

namespace reskit::engine::onednn {
namespace {

using dnnl::memory;

// A step's operand: a buffer of the plan, a tensor home (wrapped at run
// time, in its dense layout), or a constant the step owns.
struct Operand {
  enum class Kind { kBuffer, kTensor, kConstant } kind = Kind::kBuffer;
  int64_t id = -1;  // the buffer, or the value whose tensor it is
  memory::desc desc;
  std::shared_ptr<memory> constant;

  static Operand buffer(int64_t id, const memory::desc& desc) { return {Kind::kBuffer, id, desc, nullptr}; }
  static Operand tensor(int64_t value, const memory::desc& desc) { return {Kind::kTensor, value, desc, nullptr}; }
};

struct PrimitiveState {
  std::unordered_map<int, memory> args;
  std::vector<std::pair<int, int64_t>> tensors;  // (argument, value) to point at each run
};

// One oneDNN primitive over operands.
class PrimitiveStep : public Step {
 public:
  PrimitiveStep(dnnl::primitive p, std::vector<std::pair<int, Operand>> args, memory::desc scratchpad,
                std::string label)
      : primitive_(std::move(p)), args_(std::move(args)), scratchpad_(std::move(scratchpad)), label_(std::move(label)) {
    for (const auto& [arg, op] : args_) {
      const bool written = arg == DNNL_ARG_DST;
      if (op.kind == Operand::Kind::kBuffer) (written ? io.buffer_writes : io.buffer_reads).push_back(op.id);
      if (op.kind == Operand::Kind::kTensor) (written ? io.tensor_writes : io.tensor_reads).push_back(op.id);
    }
  }

  // A sum post-op reads the destination before it writes it.
  void reads_destination() {
    for (const auto& [arg, op] : args_)
      if (arg == DNNL_ARG_DST && op.kind == Operand::Kind::kBuffer) io.buffer_reads.push_back(op.id);
  }

  void run(RunContext& c, size_t index) const override {
    std::shared_ptr<void>& slot = c.step_state[index];
    if (!slot) {
      auto state = std::make_shared<PrimitiveState>();
      for (const auto& [arg, op] : args_) {
        switch (op.kind) {
          case Operand::Kind::kBuffer: state->args.emplace(arg, memory(op.desc, cpu_engine(), c.buffer(op.id))); break;
          case Operand::Kind::kConstant: state->args.emplace(arg, *op.constant); break;
          case Operand::Kind::kTensor:
            state->args.emplace(arg, memory(op.desc, cpu_engine(), DNNL_MEMORY_NONE));
            state->tensors.emplace_back(arg, op.id);
            break;
        }
      }
      if (scratchpad_.get_size() > 0)
        state->args.emplace(DNNL_ARG_SCRATCHPAD, memory(scratchpad_, cpu_engine(), c.scratchpad));
      slot = state;
    }
    auto& state = *static_cast<PrimitiveState*>(slot.get());
    std::vector<at::Tensor> dense;  // a tensor home that is a view of other strides, made dense for this call
    for (const auto& [arg, value] : state.tensors) {
      at::Tensor t = c.values[static_cast<size_t>(value)].toTensor();
      if (!t.is_contiguous()) dense.push_back(t = t.contiguous());
      state.args.at(arg).set_data_handle(t.data_ptr());
    }
    primitive_.execute(context_stream(c), state.args);
  }

  std::string text() const override { return label_; }

 private:
  dnnl::primitive primitive_;
  std::vector<std::pair<int, Operand>> args_;
  memory::desc scratchpad_;
  std::string label_;
};

// A convolution on one of reskit's own kernels, between two buffers in its ISA's blocked layout.
class OwnConvStep : public Step {
 public:
  OwnConvStep(std::shared_ptr<const kernels::OwnConv> kernel, const Operand& src, const Operand& dst, bool sum,
              std::string label)
      : kernel_(std::move(kernel)), src_(src.id), dst_(dst.id), text_(std::move(label)) {
    io.buffer_reads = {src_};
    if (sum) io.buffer_reads.push_back(dst_);
    io.buffer_writes = {dst_};
  }

  void run(RunContext& c, size_t) const override {
    kernel_->run(static_cast<const float*>(c.buffer(src_)), static_cast<float*>(c.buffer(dst_)), c.scratchpad);
  }

  std::string text() const override { return text_; }

 private:
  std::shared_ptr<const kernels::OwnConv> kernel_;
  int64_t src_, dst_;
  std::string text_;
};

// reskit's depthwise cross-correlation: the search map a buffer in the ISA's
// blocked layout; the kernel a tensor of the run (a template's features, a
// plan input) or, where the graph holds it as a constant, the step's own.
class XCorrStep : public Step {
 public:
  XCorrStep(kernels::DepthwiseXCorrKernel kernel, int64_t src, int64_t kernel_value, at::Tensor kernel_constant,
            at::Tensor bias, int64_t dst, std::string label)
      : kernel_(kernel), src_(src), kernel_value_(kernel_value), dst_(dst),
        kernel_constant_(std::move(kernel_constant)), bias_(std::move(bias)), text_(std::move(label)) {
    io.buffer_reads = {src_};
    if (kernel_value_ >= 0) io.tensor_reads = {kernel_value_};
    io.buffer_writes = {dst_};
  }

  void run(RunContext& c, size_t) const override {
    at::Tensor k = kernel_value_ >= 0 ? c.values[static_cast<size_t>(kernel_value_)].toTensor() : kernel_constant_;
    if (k.scalar_type() != at::kFloat || !k.device().is_cpu() || k.numel() != kernel_.kernel_floats())
      throw Error("engine: the correlation's kernel is not the " + std::to_string(kernel_.kernel_floats()) +
                  " float values on the CPU it was compiled for");
    k = k.contiguous();
    kernel_.run(static_cast<const float*>(c.buffer(src_)), k.data_ptr<float>(),
                bias_.defined() ? bias_.data_ptr<float>() : nullptr, static_cast<float*>(c.buffer(dst_)),
                c.scratchpad);
  }

  std::string text() const override { return text_; }

 private:
  kernels::DepthwiseXCorrKernel kernel_;
  int64_t src_, kernel_value_, dst_;
  at::Tensor kernel_constant_, bias_;
  std::string text_;
};

// reskit's max-pool pyramid: the map a buffer in the ISA's blocked layout,
// the concatenation of it and its pools another.
class PyramidStep : public Step {
 public:
  PyramidStep(kernels::MaxPoolPyramid kernel, int64_t src, int64_t dst, std::string label)
      : kernel_(std::move(kernel)), src_(src), dst_(dst), text_(std::move(label)) {
    io.buffer_reads = {src_};
    io.buffer_writes = {dst_};
  }

  void run(RunContext& c, size_t) const override {
    kernel_.run(static_cast<const float*>(c.buffer(src_)), static_cast<float*>(c.buffer(dst_)), c.scratchpad);
  }

  std::string text() const override { return text_; }

 private:
  kernels::MaxPoolPyramid kernel_;
  int64_t src_, dst_;
  std::string text_;
};

// "add,relu": what a convolution applies after itself.
std::string conv_tags(const ConvAttributes& a) {
  std::string tags = a.residual ? "add" : "";
  if (!a.activation.none()) tags += (tags.empty() ? "" : ",") + a.activation.name();
  return tags;
}

// The epilogue reskit's kernels apply, if they can apply this one.
std::optional<kernels::ConvEpilogue> own_epilogue(const ConvAttributes& a, bool sum) {
  kernels::ConvEpilogue e;
  e.sum = sum;
  using K = Activation::Kind;
  using A = kernels::ConvEpilogue::Activation;
  switch (a.activation.kind) {
    case K::kNone: e.activation = A::kNone; break;
    case K::kRelu: e.activation = A::kRelu; break;
    case K::kLeakyRelu: e.activation = A::kLeakyRelu; break;
    case K::kClip: e.activation = A::kClip; break;
    case K::kSilu:
    case K::kSigmoid: return std::nullopt;
  }
  e.alpha = static_cast<float>(a.activation.alpha);
  e.beta = static_cast<float>(a.activation.beta);
  return e;
}

// A reorder's attributes that multiply what it copies by `scale`.
dnnl::primitive_attr scaled_by(float scale) {
  dnnl::primitive_attr attr;
  if (scale != 1) attr.set_output_scales(0, {scale});
  return attr;
}

// A buffer copied into a new dense tensor (for the ATen fallback or a graph output).
class ToTensorStep : public Step {
 public:
  // `scale`: the buffer holds codes, x x scale (an int8 convolution's output).
  ToTensorStep(int64_t value, int64_t buffer, const memory::desc& from, std::vector<int64_t> sizes, float scale = 1)
      : value_(value), buffer_(buffer), from_(from), to_(plain_desc(sizes)), sizes_(std::move(sizes)),
        reorder_(dnnl::reorder::primitive_desc(cpu_engine(), from_, cpu_engine(), to_, scaled_by(1 / scale))) {
    io.buffer_reads = {buffer};
    io.tensor_writes = {value};
  }

  void run(RunContext& c, size_t) const override {
    at::Tensor out = at::empty(sizes_, at::kFloat);
    memory src(from_, cpu_engine(), c.buffer(buffer_)), dst(to_, cpu_engine(), out.data_ptr());
    reorder_.execute(context_stream(c), src, dst);
    c.values[static_cast<size_t>(value_)] = std::move(out);
  }

  std::string text() const override { return "to_tensor " + layout_name(from_) + " (onednn reorder)"; }

 private:
  int64_t value_, buffer_;
  memory::desc from_, to_;
  std::vector<int64_t> sizes_;
  dnnl::reorder reorder_;
};

std::optional<std::vector<int64_t>> int_list(const Graph& g, int64_t id) {
  const Value& v = g.value(id);
  if (!v.is_constant || !v.constant.isIntList()) return std::nullopt;
  return v.constant.toIntVector();
}

// The right padding that makes oneDNN's output size the traced one:
// out = (in + left + right - ((k - 1) * dilation + 1)) / stride + 1.
int64_t right_padding(int64_t in, int64_t out, int64_t kernel, int64_t stride, int64_t dilation, int64_t left) {
  return (out - 1) * stride + (kernel - 1) * dilation + 1 - in - left;
}


dnnl::algorithm eltwise_algorithm(const Activation& a, float& alpha, float& beta) {
  alpha = 0;
  beta = 0;
  switch (a.kind) {
    case Activation::Kind::kRelu: return dnnl::algorithm::eltwise_relu;
    case Activation::Kind::kLeakyRelu: alpha = static_cast<float>(a.alpha); return dnnl::algorithm::eltwise_relu;
    case Activation::Kind::kSilu: alpha = 1; return dnnl::algorithm::eltwise_swish;
    case Activation::Kind::kSigmoid: return dnnl::algorithm::eltwise_logistic;
    case Activation::Kind::kClip:
      alpha = static_cast<float>(a.alpha);
      beta = static_cast<float>(a.beta);
      return dnnl::algorithm::eltwise_clip;
    case Activation::Kind::kNone: break;
  }
  return dnnl::algorithm::undef;
}

std::string spatial_text(const std::vector<int64_t>& sizes) {
  std::string s;
  for (size_t d = 2; d < sizes.size(); ++d) s += (d > 2 ? "x" : "") + std::to_string(sizes[d]);
  return s;
}

class OnednnBackend : public Backend {
 public:
  OnednnBackend(std::shared_ptr<WeightPool> pool, std::shared_ptr<const Calibration> calibration, bool bf16)
      : pool_(std::move(pool)), calibration_(std::move(calibration)), bf16_(bf16) {}

  bool lower(Lowering& l, const Node& n) override {
    // A node a pyramid took: no step; the concatenation's value is the pyramid's buffer.
    if (const auto it = absorbed_.find(l.node_index()); it != absorbed_.end()) {
      if (it->second >= 0) l.set_buffer(n.outputs[0], it->second);
      return true;
    }
    try {
      if (n.kind == "reskit::conv") return lower_conv_or_xcorr(l, n);
      if (n.kind == "aten::reshape" || n.kind == "aten::view") return lower_same_shape_view(l, n);
      if (n.kind == "aten::max_pool2d" && lower_pyramid(l, n)) return true;
      if (n.kind == "aten::max_pool2d" || n.kind == "aten::max_pool3d") return lower_max_pool(l, n);
      if (n.kind == "aten::avg_pool2d" || n.kind == "aten::avg_pool3d") return lower_avg_pool(l, n);
      if (n.kind == "aten::adaptive_avg_pool2d" || n.kind == "aten::adaptive_avg_pool3d")
        return lower_adaptive_avg_pool(l, n);
      if (n.kind == "aten::add" || n.kind == "aten::add_") return lower_add(l, n);
      if (n.kind == "aten::flatten") return lower_flatten(l, n);
      if (n.kind == "prim::ListConstruct") return lower_list(l, n);
      if (n.kind == "aten::cat") return lower_cat(l, n);
      if (n.kind == "aten::addmm" || n.kind == "aten::linear") return lower_linear(l, n);
      return lower_activation(l, n);
    } catch (const dnnl::error&) {
      return false;  // oneDNN has no kernel for this case: ATen runs it
    }
  }

  std::unique_ptr<Step> to_tensor(Lowering& l, int64_t value, int64_t buffer) override {
    const auto codes = code_scale_.find(buffer);
    return std::make_unique<ToTensorStep>(value, buffer, descs_.at(static_cast<size_t>(buffer)),
                                          l.graph().value(value).sizes,
                                          codes == code_scale_.end() ? 1.f : codes->second);
  }

  std::shared_ptr<void> make_context_state() const override { return make_stream(); }

 private:
  // A value as an operand in its current home; none if it is not a float
  // tensor with known sizes that a buffer or a tensor holds.
  std::optional<Operand> operand(const Lowering& l, int64_t v) const {
    const Value& val = l.graph().value(v);
    if (val.is_constant || val.dtype != at::kFloat || val.sizes.empty()) return std::nullopt;
    for (int64_t d : val.sizes)
      if (d <= 0) return std::nullopt;
    if (l.buffer_of(v) >= 0) return Operand::buffer(l.buffer_of(v), descs_[static_cast<size_t>(l.buffer_of(v))]);
    if (l.has_tensor(v)) return Operand::tensor(v, plain_desc(val.sizes));
    return std::nullopt;
  }

  int64_t new_buffer(Lowering& l, const memory::desc& desc, const std::vector<int64_t>& sizes) {
    descs_.push_back(desc);
    return l.add_buffer({desc.get_size(), layout_name(desc) + " " + shape_text(sizes)});
  }

  // The operand in `desc`: as it is, or reordered into a buffer of that
  // layout (once per value and layout: later readers share the copy).
  Operand in_layout(Lowering& l, int64_t v, const Operand& op, const memory::desc& desc) {
    if (op.desc == desc) return op;
    for (const auto& [value, buffer] : converted_)
      if (value == v && descs_[static_cast<size_t>(buffer)] == desc) return Operand::buffer(buffer, desc);
    const int64_t buffer = new_buffer(l, desc, l.graph().value(v).sizes);
    add_reorder(l, op, Operand::buffer(buffer, desc));
    converted_.emplace_back(v, buffer);
    return Operand::buffer(buffer, desc);
  }

  // `scale` multiplies what is copied (int8 codes made or undone); `text`
  // names the step (default: "reorder FROM -> TO (onednn)").
  void add_reorder(Lowering& l, const Operand& from, const Operand& to, float scale = 1, std::string text = "") {
    // The layout, and bf16 where the data is (a bf16 plan's sources).
    const auto named = [](const memory::desc& d) {
      return layout_name(d) + (d.data_type() == memory::data_type::bf16 ? " bf16" : "");
    };
    if (text.empty()) text = "reorder " + named(from.desc) + " -> " + named(to.desc) + " (onednn)";
    dnnl::reorder::primitive_desc pd(cpu_engine(), from.desc, cpu_engine(), to.desc, scaled_by(scale));
    l.add_step(std::make_unique<PrimitiveStep>(dnnl::reorder(pd),
                                               std::vector<std::pair<int, Operand>>{{DNNL_ARG_FROM, from}, {DNNL_ARG_TO, to}},
                                               memory::desc(), std::move(text)));
  }

  Operand constant(const at::Tensor& t, const memory::desc& plain, const memory::desc& wanted, Lowering& l) {
    const at::Tensor dense = t.contiguous();
    bool made = false;
    const auto make = [&] {
      // The memory object holds its storage: oneDNN's own allocation would
      // be on 4 KiB pages.
      std::shared_ptr<std::byte> storage = allocate_streamed(wanted.get_size());
      std::shared_ptr<memory> mem(new memory(wanted, cpu_engine(), storage.get()),
                                  [storage](memory* m) { delete m; });
      memory user(plain, cpu_engine(), dense.data_ptr());
      dnnl::stream s(cpu_engine());
      dnnl::reorder(user, *mem).execute(s, user, *mem);
      s.wait();
      made = true;
      return mem;
    };
    const std::optional<std::string> key = pool_ ? pool_key(dense, wanted) : std::nullopt;
    std::shared_ptr<memory> mem =
        key ? std::static_pointer_cast<memory>(pool_->get(*key, wanted.get_size(), make)) : make();
    if (made) l.add_weight_bytes(wanted.get_size());
    return Operand{Operand::Kind::kConstant, -1, wanted, mem};
  }

  // A weight's key in the pool: its bytes and the blocked layout it is
  // reordered to; none for other layouts (oneDNN's Winograd, packed ones).
  static std::optional<std::string> pool_key(const at::Tensor& dense, const memory::desc& wanted) {
    const dnnl_memory_desc_t& d = wanted.data;
    if (d.format_kind != dnnl_blocked || d.data_type != dnnl_f32 || d.extra.flags != 0) return std::nullopt;
    std::ostringstream key;
    key << content_key(dense.data_ptr(), dense.nbytes()) << " " << dense.sizes() << " ->";
    const dnnl_blocking_desc_t& b = d.format_desc.blocking;
    for (int i = 0; i < d.ndims; ++i)
      key << " " << d.dims[i] << "/" << d.padded_dims[i] << "/" << d.padded_offsets[i] << "/" << b.strides[i];
    key << " off " << d.offset0 << " blocks";
    for (int i = 0; i < b.inner_nblks; ++i) key << " " << b.inner_idxs[i] << ":" << b.inner_blks[i];
    return key.str();
  }

  // The destination of a node whose output may overwrite input `v` in
  // place: v's buffer, if v is a buffer this node reads last in `desc`.
  std::optional<Operand> reusable(const Lowering& l, int64_t v, const memory::desc& desc) const {
    const std::optional<Operand> op = operand(l, v);
    if (!op || op->kind != Operand::Kind::kBuffer || !l.last_read_here(v) || !(op->desc == desc)) return std::nullopt;
    for (const auto& [value, buffer] : converted_)
      if (buffer == op->id) return std::nullopt;  // a shared conversion may have later readers
    return op;
  }

  bool lower_conv(Lowering& l, const Node& n) {
    const Graph& g = l.graph();
    const Value& wv = g.value(n.inputs[1]);
    const Value& bv = g.value(n.inputs[2]);
    if (!wv.is_constant || !wv.constant.isTensor() || !bv.is_constant || !(bv.constant.isNone() || bv.constant.isTensor()))
      return false;
    const at::Tensor w = wv.constant.toTensor();
    const Value& out = g.value(n.outputs[0]);
    if (w.scalar_type() != at::kFloat || !w.device().is_cpu() || (w.dim() != 4 && w.dim() != 5) ||
        out.dtype != at::kFloat || static_cast<int64_t>(out.sizes.size()) != w.dim())
      return false;
    std::optional<Operand> src = operand(l, n.inputs[0]);
    if (!src || static_cast<int64_t>(g.value(n.inputs[0]).sizes.size()) != w.dim()) return false;
    std::optional<Operand> residual;
    if (n.conv.residual && !(residual = operand(l, n.inputs[3]))) return false;

    const ConvAttributes& a = n.conv;
    const std::vector<int64_t>& in_sizes = g.value(n.inputs[0]).sizes;
    const size_t spatial = static_cast<size_t>(w.dim() - 2);
    ConvShape shape;
    shape.groups = a.groups;
    for (size_t d = 0; d < spatial; ++d) {
      shape.kernel.push_back(w.size(static_cast<int64_t>(d) + 2));
      shape.stride.push_back(a.stride.at(d));
      shape.dilation.push_back(a.dilation.at(d));
      shape.padding_l.push_back(a.padding.at(d));
      shape.padding_r.push_back(right_padding(in_sizes[d + 2], out.sizes[d + 2], shape.kernel[d], a.stride[d],
                                              a.dilation[d], a.padding[d]));
    }
    shape.src = in_sizes;
    shape.dst = out.sizes;
    shape.weights = w.sizes().vec();

    dnnl::post_ops post_ops;
    if (residual) post_ops.append_sum(1.f);
    if (!a.activation.none()) {
      float alpha = 0, beta = 0;
      const dnnl::algorithm alg = eltwise_algorithm(a.activation, alpha, beta);
      post_ops.append_eltwise(1.f, alg, alpha, beta);
    }
    const std::string tags = conv_tags(a);
    std::ostringstream label;
    label << "conv " << shape.kernel[0];
    for (size_t d = 1; d < spatial; ++d) label << "x" << shape.kernel[d];
    label << "/" << shape.stride[0] << " " << in_sizes[1] << "->" << out.sizes[1];
    if (a.groups > 1) label << " g" << a.groups;
    label << " " << spatial_text(out.sizes);
    if (!tags.empty()) label << " [" << tags << "]";
    if (calibration_) {
      const auto range = calibration_->max_abs.find(n.inputs[0]);
      if (range != calibration_->max_abs.end())
        if (std::optional<Int8Conv> q = make_int8_conv(shape, w, bv.constant.isTensor() ? bv.constant.toTensor() : at::Tensor(),
                                                       post_ops, {range->second, calibration_->non_negative.at(n.inputs[0])},
                                                       codes_out(l, n)))
          return lower_int8_conv(l, n, *q, shape, *src, residual, label.str());
    }
    if (src->kind == Operand::Kind::kBuffer && code_scale_.count(src->id)) src = dequantized(l, n.inputs[0], *src);

    dnnl::primitive_attr attr;
    attr.set_post_ops(post_ops);
    attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);

    ConvLayer layer;
    layer.shape = shape;
    layer.weight = w;
    if (bv.constant.isTensor()) layer.bias = bv.constant.toTensor().to(at::kFloat);
    layer.attr = attr;
    layer.post_ops = tags;
    layer.epilogue = own_epilogue(a, residual.has_value());
    // The output may overwrite its residual in place, but never the input
    // the convolution still reads (conv(x) + x).
    std::optional<Operand> alias = residual && n.inputs[3] != n.inputs[0]
                                       ? reusable(l, n.inputs[3], residual->desc)
                                       : std::optional<Operand>();
    if (alias && src->kind == Operand::Kind::kBuffer && alias->id == src->id) alias.reset();
    std::optional<ConvChoice> bf16;
    if (bf16_) bf16 = choose_bf16_convolution(layer, alias ? alias->desc : memory::desc());
    const ConvChoice choice = bf16 ? *bf16 : choose_convolution(layer, src->desc, alias ? alias->desc : memory::desc());

    // Everything that can fail is made before anything is emitted.
    label << " (" << choice.name << ")";
    std::optional<dnnl::convolution_forward> primitive;
    std::optional<Operand> weights, bias;
    if (choice.pd) {
      primitive = dnnl::convolution_forward(*choice.pd);
      weights = constant(w, weights_plain_desc(shape), choice.pd->weights_desc(), l);
      if (layer.bias.defined())
        bias = constant(layer.bias, plain_desc({layer.bias.numel()}), choice.pd->bias_desc(), l);
    }

    const Operand x = in_layout(l, n.inputs[0], *src, choice.src);
    Operand dst;
    if (alias && alias->desc == choice.dst) {
      dst = *alias;
    } else {
      dst = Operand::buffer(new_buffer(l, choice.dst, out.sizes), choice.dst);
      if (residual) add_reorder(l, *residual, dst);  // the sum adds to what the destination holds
    }
    std::unique_ptr<Step> step;
    if (choice.own) {
      step = std::make_unique<OwnConvStep>(choice.own, x, dst, residual.has_value(), label.str());
      l.need_scratchpad(choice.own->scratch_bytes(at::get_num_threads()));
      l.add_weight_bytes(choice.own->weight_bytes());
    } else {
      std::vector<std::pair<int, Operand>> args = {{DNNL_ARG_SRC, x}, {DNNL_ARG_WEIGHTS, *weights}};
      if (bias) args.emplace_back(DNNL_ARG_BIAS, *bias);
      args.emplace_back(DNNL_ARG_DST, dst);
      l.need_scratchpad(choice.pd->scratchpad_desc().get_size());
      auto conv = std::make_unique<PrimitiveStep>(*primitive, std::move(args), choice.pd->scratchpad_desc(), label.str());
      if (residual) conv->reads_destination();
      step = std::move(conv);
    }
    step->flop = conv_flop(g, n);
    l.add_step(std::move(step));
    l.set_buffer(n.outputs[0], dst.id);
    return true;
  }

  // A convolution on oneDNN's int8 kernel: its source quantised (a reorder
  // with a scale, shared by the readers of one value, unless its producer
  // wrote the codes), its output f32 as the f32 plan's, or codes.
  // `label`: the layer's, as the f32 path names it, but for the kernel.
  bool lower_int8_conv(Lowering& l, const Node& n, const Int8Conv& q, const ConvShape& shape, const Operand& src,
                       const std::optional<Operand>& residual, const std::string& label) {
    const Graph& g = l.graph();
    const Value& out = g.value(n.outputs[0]);
    const dnnl::convolution_forward primitive(q.pd);
    const Operand weights = constant(q.weight, weights_plain_desc(shape, memory::data_type::s8), q.pd.weights_desc(), l);
    std::optional<Operand> bias;
    if (q.bias.defined()) bias = constant(q.bias, plain_desc({q.bias.numel()}), q.pd.bias_desc(), l);
    std::optional<Operand> alias = residual && n.inputs[3] != n.inputs[0]
                                       ? reusable(l, n.inputs[3], residual->desc)
                                       : std::optional<Operand>();
    if (alias && src.kind == Operand::Kind::kBuffer && alias->id == src.id) alias.reset();

    const Operand x = quantized(l, n.inputs[0], src, q.pd.src_desc(), q.src_scale, q.src_7bit);
    Operand dst;
    if (alias && alias->desc == q.pd.dst_desc()) {
      dst = *alias;
    } else {
      dst = Operand::buffer(new_buffer(l, q.pd.dst_desc(), out.sizes), q.pd.dst_desc());
      if (residual) add_reorder(l, *residual, dst);
    }
    if (q.dst_scale) code_scale_[dst.id] = *q.dst_scale;
    std::vector<std::pair<int, Operand>> args = {{DNNL_ARG_SRC, x}, {DNNL_ARG_WEIGHTS, weights}};
    if (bias) args.emplace_back(DNNL_ARG_BIAS, *bias);
    args.emplace_back(DNNL_ARG_DST, dst);
    l.need_scratchpad(q.pd.scratchpad_desc().get_size());
    auto step = std::make_unique<PrimitiveStep>(primitive, std::move(args), q.pd.scratchpad_desc(),
                                                label + " (" + q.name + ")");
    if (residual) step->reads_destination();
    step->flop = conv_flop(g, n);
    l.add_step(std::move(step));
    l.set_buffer(n.outputs[0], dst.id);
    return true;
  }

  // How an int8 convolution's output may be written as the codes its
  // readers take, sparing them the quantising reorder: where every reader is
  // a convolution that reads it as its source alone and will run in int8
  // (the ReLU, if any, commutes with the codes' scale; a residual sum does
  // not). A reader that falls back to f32 after all gets it dequantised.
  std::optional<QuantizedRange> codes_out(const Lowering& l, const Node& n) const {
    const int64_t y = n.outputs[0];
    const Activation& act = n.conv.activation;
    if (n.conv.residual || l.is_output(y) || l.readers(y).empty() ||
        !(act.none() || (act.kind == Activation::Kind::kRelu && act.alpha == 0)))
      return std::nullopt;
    const auto range = calibration_->max_abs.find(y);
    if (range == calibration_->max_abs.end()) return std::nullopt;
    for (int64_t r : l.readers(y)) {
      const Node& reader = l.graph().nodes[static_cast<size_t>(r)];
      if (reader.kind != "reskit::conv" || reader.conv.groups != 1 || reader.inputs[0] != y) return std::nullopt;
      for (size_t i = 1; i < reader.inputs.size(); ++i)
        if (reader.inputs[i] == y) return std::nullopt;
      if (!l.graph().value(reader.inputs[1]).is_constant) return std::nullopt;
    }
    return QuantizedRange{range->second, calibration_->non_negative.at(y)};
  }

  // An f32 copy of a buffer of int8 codes, in its layout (once per value).
  Operand dequantized(Lowering& l, int64_t v, const Operand& codes) {
    memory::desc desc = codes.desc;
    desc.data.data_type = dnnl_f32;
    for (const auto& [value, buffer] : converted_)
      if (value == v && descs_[static_cast<size_t>(buffer)] == desc) return Operand::buffer(buffer, desc);
    const int64_t buffer = new_buffer(l, desc, l.graph().value(v).sizes);
    const Operand to = Operand::buffer(buffer, desc);
    add_reorder(l, codes, to, 1 / code_scale_.at(codes.id), "dequantize " + layout_name(codes.desc) + " (onednn)");
    converted_.emplace_back(v, buffer);
    return to;
  }

  // Value `v` quantised into `desc` (u8 or s8): round(x x scale), saturated;
  // `seven_bit` (u8 only): saturated at 127, written as s8. Codes already
  // made with that scale (a producer's) are only reordered.
  Operand quantized(Lowering& l, int64_t v, const Operand& op, const memory::desc& desc, float scale,
                    bool seven_bit) {
    if (op.kind == Operand::Kind::kBuffer && code_scale_.count(op.id)) {
      // s8 codes of a non-negative value are its 7-bit u8 codes, byte for byte.
      const bool as_u8 = seven_bit && op.desc.data_type() == memory::data_type::s8;
      if (code_scale_.at(op.id) != scale || (op.desc.data_type() != desc.data_type() && !as_u8))
        return quantized(l, v, dequantized(l, v, op), desc, scale, seven_bit);
      Operand bytes = op;
      if (as_u8) bytes.desc.data.data_type = dnnl_u8;
      const Operand codes = in_layout(l, v, bytes, desc);
      if (codes.kind == Operand::Kind::kBuffer) code_scale_[codes.id] = scale;
      return codes;
    }
    for (const auto& [value, buffer] : converted_)
      if (value == v && descs_[static_cast<size_t>(buffer)] == desc) return Operand::buffer(buffer, desc);
    const int64_t buffer = new_buffer(l, desc, l.graph().value(v).sizes);
    code_scale_[buffer] = scale;
    memory::desc written = desc;
    if (seven_bit) written.data.data_type = dnnl_s8;
    const Operand to = Operand::buffer(buffer, desc);
    add_reorder(l, op, Operand::buffer(buffer, written), scale,
                "quantize " + layout_name(op.desc) + " -> " +
                    (seven_bit ? "7-bit u8 " : desc.data_type() == memory::data_type::u8 ? "u8 " : "s8 ") +
                    layout_name(desc) + " (onednn)");
    converted_.emplace_back(v, buffer);
    return to;
  }

  // oneDNN's convolution, or else reskit's correlation (oneDNN has no JIT
  // kernel for a depthwise 5x5, say, and none takes weights given at run time).
  bool lower_conv_or_xcorr(Lowering& l, const Node& n) {
    try {
      if (lower_conv(l, n)) return true;
    } catch (const dnnl::error&) {
      // nothing but, at most, a dequantising copy was emitted: lower_conv makes what can fail first
    }
    return lower_xcorr(l, n);
  }

  // A depthwise convolution that oneDNN did not take, its weights a value of
  // the run (a tracker's template kernel) or a constant: one image, C groups
  // of one channel, stride 1, no dilation or padding, no residual or activation.
  bool lower_xcorr(Lowering& l, const Node& n) {
    const Graph& g = l.graph();
    const Value &wv = g.value(n.inputs[1]), &bv = g.value(n.inputs[2]);
    const std::vector<int64_t>& in = g.value(n.inputs[0]).sizes;
    const ConvAttributes& a = n.conv;
    const auto all = [](const std::vector<int64_t>& v, int64_t x) {
      return std::all_of(v.begin(), v.end(), [x](int64_t e) { return e == x; });
    };
    at::Tensor kernel_constant;
    if (wv.is_constant) {
      if (!wv.constant.isTensor()) return false;
      kernel_constant = wv.constant.toTensor();
      if (kernel_constant.scalar_type() != at::kFloat || !kernel_constant.device().is_cpu()) return false;
      kernel_constant = kernel_constant.contiguous();
    } else if (!l.has_tensor(n.inputs[1])) {
      return false;
    }
    const std::vector<int64_t> k = wv.is_constant ? kernel_constant.sizes().vec() : wv.sizes;
    if ((!wv.is_constant && wv.dtype != at::kFloat) || k.size() != 4 || in.size() != 4 || in[0] != 1 ||
        k[0] != in[1] || k[1] != 1 || a.groups != in[1] || !all(a.stride, 1) || !all(a.dilation, 1) ||
        !all(a.padding, 0) || a.residual || !a.activation.none() || !bv.is_constant)
      return false;
    at::Tensor bias;
    if (bv.constant.isTensor()) {
      bias = bv.constant.toTensor().to(at::kFloat).contiguous();
      if (!bias.device().is_cpu() || bias.numel() != in[1]) return false;
    } else if (!bv.constant.isNone()) {
      return false;
    }
    kernels::DepthwiseXCorrShape shape;
    shape.channels = in[1];
    shape.height = in[2];
    shape.width = in[3];
    shape.kernel_h = k[2];
    shape.kernel_w = k[3];
    const kernels::Isa isa = kernels::best_isa();
    const std::optional<Operand> src = operand(l, n.inputs[0]);
    const std::vector<int64_t>& out = g.value(n.outputs[0]).sizes;
    // (int8 codes go to ATen, whose conversion dequantises them.)
    if (!src || (src->kind == Operand::Kind::kBuffer && code_scale_.count(src->id)) ||
        !kernels::DepthwiseXCorrKernel::supports(shape, isa) ||
        out != std::vector<int64_t>{1, in[1], shape.out_height(), shape.out_width()})
      return false;
    const kernels::DepthwiseXCorrKernel kernel(shape, isa);
    const memory::format_tag tag = kernel.lanes() == 16 ? memory::format_tag::nChw16c : memory::format_tag::nChw8c;
    const Operand x = in_layout(l, n.inputs[0], *src, memory::desc(to_dims(in), memory::data_type::f32, tag));
    const memory::desc dst_desc(to_dims(out), memory::data_type::f32, tag);
    const Operand dst = Operand::buffer(new_buffer(l, dst_desc, out), dst_desc);
    std::ostringstream label;
    label << "xcorr depthwise " << shape.kernel_h << "x" << shape.kernel_w << " " << shape.channels << "ch "
          << spatial_text(out) << " (" << kernel.name() << ")";
    auto step = std::make_unique<XCorrStep>(kernel, x.id, wv.is_constant ? -1 : n.inputs[1], kernel_constant, bias,
                                            dst.id, label.str());
    step->flop = 2.0 * static_cast<double>(shape.channels * out[2] * out[3] * shape.kernel_h * shape.kernel_w);
    l.add_step(std::move(step));
    l.need_scratchpad(kernel.scratch_bytes());
    l.set_buffer(n.outputs[0], dst.id);
    return true;
  }

  // aten::reshape or aten::view that keeps the sizes, of a buffer it reads
  // last: no step, its output is the same buffer.
  bool lower_same_shape_view(Lowering& l, const Node& n) {
    const std::optional<Operand> x = operand(l, n.inputs[0]);
    if (!x || x->kind != Operand::Kind::kBuffer || n.outputs.size() != 1 || !l.last_read_here(n.inputs[0]) ||
        l.graph().value(n.outputs[0]).sizes != l.graph().value(n.inputs[0]).sizes ||
        l.graph().value(n.outputs[0]).dtype != at::kFloat)
      return false;
    l.set_buffer(n.outputs[0], x->id);
    return true;
  }

  // The k of aten::max_pool2d(x, [k, k], [1, 1], [k/2, k/2], [1, 1], false)
  // with k odd, a same-size pool; none for any other node.
  static std::optional<int64_t> same_size_pool(const Graph& g, const Node& n) {
    if (n.kind != "aten::max_pool2d" || n.inputs.size() != 6) return std::nullopt;
    const auto kernel = int_list(g, n.inputs[1]), stride = int_list(g, n.inputs[2]), padding = int_list(g, n.inputs[3]),
               dilation = int_list(g, n.inputs[4]);
    const Value& ceil = g.value(n.inputs[5]);
    if (!kernel || kernel->empty() || kernel->size() > 2 || !ceil.is_constant || !ceil.constant.isBool() ||
        ceil.constant.toBool())
      return std::nullopt;
    const int64_t k = (*kernel)[0];
    const auto all = [](const std::optional<std::vector<int64_t>>& v, int64_t x, bool empty_ok) {
      if (!v) return false;
      if (v->empty()) return empty_ok;
      return std::all_of(v->begin(), v->end(), [x](int64_t e) { return e == x; });
    };
    if (k % 2 == 0 || !all(kernel, k, false) || !all(stride, 1, true) || !all(padding, k / 2, false) ||
        !all(dilation, 1, true))
      return std::nullopt;
    return k;
  }

  // At the first of its pools: aten::cat([x, pool(x or an earlier part), ...], 1)
  // where the pools are same-size max pools that nothing else reads (SPPF's
  // chain, SPP's fan), as one reskit pyramid step; the other pools, the list
  // and the concatenation then lower to nothing.
  bool lower_pyramid(Lowering& l, const Node& n) {
    const Graph& g = l.graph();
    const int64_t here = static_cast<int64_t>(l.node_index());
    const auto producer = [&](int64_t v) -> int64_t {
      for (size_t i = 0; i < g.nodes.size(); ++i)
        for (int64_t o : g.nodes[i].outputs)
          if (o == v) return static_cast<int64_t>(i);
      return -1;
    };
    // The list this pool's output joins, and the concatenation that alone reads it.
    int64_t list = -1;
    for (int64_t r : l.readers(n.outputs[0]))
      if (g.nodes[static_cast<size_t>(r)].kind == "prim::ListConstruct") list = r;
    if (list < 0) return false;
    const Node& list_node = g.nodes[static_cast<size_t>(list)];
    const int64_t list_value = list_node.outputs[0];
    if (l.is_output(list_value) || l.readers(list_value).size() != 1) return false;
    const int64_t cat = l.readers(list_value)[0];
    const Node& cat_node = g.nodes[static_cast<size_t>(cat)];
    const std::vector<int64_t>& parts = list_node.inputs;
    if (cat_node.kind != "aten::cat" || cat_node.inputs.size() != 2 || cat_node.inputs[0] != list_value ||
        !g.value(cat_node.inputs[1]).is_constant || !g.value(cat_node.inputs[1]).constant.isInt() ||
        parts.size() < 2 || parts[0] != n.inputs[0])
      return false;
    const int64_t x = parts[0];
    const std::vector<int64_t>& in = g.value(x).sizes;
    int64_t dim = g.value(cat_node.inputs[1]).constant.toInt();
    if (dim < 0) dim += 4;
    if (in.size() != 4 || dim != 1 || g.value(x).dtype != at::kFloat) return false;
    // Each later part: a same-size pool of x or an earlier part, read by nothing but the list and later pools.
    std::vector<kernels::PyramidLevel> levels;
    std::vector<int64_t> pools;
    for (size_t i = 1; i < parts.size(); ++i) {
      const int64_t p = producer(parts[i]);
      if (p < 0 || p > cat) return false;
      const Node& pool = g.nodes[static_cast<size_t>(p)];
      const std::optional<int64_t> k = same_size_pool(g, pool);
      const auto from = std::find(parts.begin(), parts.begin() + static_cast<int64_t>(i), pool.inputs[0]);
      if (!k || from == parts.begin() + static_cast<int64_t>(i) || l.is_output(parts[i]) ||
          g.value(parts[i]).sizes != in || std::count(parts.begin(), parts.end(), parts[i]) != 1)
        return false;
      for (int64_t r : l.readers(parts[i])) {
        const Node& reader = g.nodes[static_cast<size_t>(r)];
        const bool later_pool = same_size_pool(g, reader) && reader.inputs[0] == parts[i] &&
                                std::find(parts.begin(), parts.end(), reader.outputs[0]) != parts.end();
        if (r != list && !later_pool) return false;
      }
      levels.push_back({*k, static_cast<int64_t>(from - parts.begin())});
      pools.push_back(p);
    }
    if (*std::min_element(pools.begin(), pools.end()) != here) return false;
    const kernels::Isa isa = kernels::best_isa();
    const std::optional<Operand> src = operand(l, x);
    const std::vector<int64_t>& out = g.value(cat_node.outputs[0]).sizes;
    if (!src || !kernels::MaxPoolPyramid::supports(in[1], levels, isa) ||
        out != std::vector<int64_t>{in[0], in[1] * static_cast<int64_t>(parts.size()), in[2], in[3]})
      return false;
    const kernels::MaxPoolPyramid kernel(in[0], in[1], in[2], in[3], levels, isa);
    const memory::format_tag tag = kernel.lanes() == 16 ? memory::format_tag::nChw16c : memory::format_tag::nChw8c;
    const Operand map = in_layout(l, x, *src, memory::desc(to_dims(in), memory::data_type::f32, tag));
    const memory::desc dst_desc(to_dims(out), memory::data_type::f32, tag);
    const Operand dst = Operand::buffer(new_buffer(l, dst_desc, out), dst_desc);
    std::ostringstream label;
    label << "max-pool pyramid";
    for (const kernels::PyramidLevel& level : levels) label << " " << level.kernel << "x" << level.kernel;
    label << " -> " << out[1] << " " << spatial_text(out) << " (" << kernel.name() << ")";
    l.add_step(std::make_unique<PyramidStep>(kernel, map.id, dst.id, label.str()));
    l.need_scratchpad(kernel.scratch_bytes(at::get_num_threads()));
    for (int64_t p : pools)
      if (p != here) absorbed_[p] = -1;
    absorbed_[list] = -1;
    absorbed_[cat] = dst.id;
    return true;
  }

  // Pooling over the spatial dims: (kernel, stride, padding, dilation) lists.
  bool add_pooling(Lowering& l, const Node& n, dnnl::algorithm alg, std::vector<int64_t> kernel,
                   std::vector<int64_t> stride, std::vector<int64_t> padding, std::vector<int64_t> dilation) {
    const Graph& g = l.graph();
    const std::optional<Operand> src = operand(l, n.inputs[0]);
    const Value& out = g.value(n.outputs[0]);
    if (!src || out.dtype != at::kFloat) return false;
    const std::vector<int64_t>& in = g.value(n.inputs[0]).sizes;
    if (in.size() < 4 || out.sizes.size() != in.size()) return false;
    const size_t spatial = in.size() - 2;
    const auto expand = [&](std::vector<int64_t>& v, int64_t fill) {
      if (v.empty()) v.assign(spatial, fill);
      if (v.size() == 1) v.assign(spatial, v[0]);
      return v.size() == spatial;
    };
    if (!expand(kernel, 1) || !expand(padding, 0) || !expand(dilation, 1)) return false;
    if (stride.empty()) stride = kernel;
    if (!expand(stride, 1)) return false;
    memory::dims pad_r(spatial), dil(spatial);
    for (size_t d = 0; d < spatial; ++d) {
      pad_r[d] = right_padding(in[d + 2], out.sizes[d + 2], kernel[d], stride[d], dilation[d], padding[d]);
      dil[d] = dilation[d] - 1;
      // Average pooling that counts the padding must not count the extra
      // right padding of ceil_mode, which PyTorch leaves out of the divisor.
      if (alg == dnnl::algorithm::pooling_avg_include_padding && pad_r[d] > padding[d]) return false;
      if (pad_r[d] < 0) return false;
    }
    const memory::desc dst_any(to_dims(out.sizes), memory::data_type::f32, memory::format_tag::any);
    dnnl::primitive_attr attr;
    attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
    dnnl::pooling_v2_forward::primitive_desc pd(
        dnnl::pooling_v2_forward::desc(dnnl::prop_kind::forward_inference, alg, src->desc, dst_any, to_dims(stride),
                                       to_dims(kernel), dil, to_dims(padding), pad_r),
        attr, cpu_engine());
    const Operand dst = Operand::buffer(new_buffer(l, pd.dst_desc(), out.sizes), pd.dst_desc());
    const std::string name = alg == dnnl::algorithm::pooling_max ? "max_pool" : "avg_pool";
    std::string k = std::to_string(kernel[0]);
    for (size_t d = 1; d < spatial; ++d) k += "x" + std::to_string(kernel[d]);
    l.add_step(std::make_unique<PrimitiveStep>(
        dnnl::pooling_v2_forward(pd), std::vector<std::pair<int, Operand>>{{DNNL_ARG_SRC, *src}, {DNNL_ARG_DST, dst}},
        pd.scratchpad_desc(), name + " " + k + "/" + std::to_string(stride[0]) + " " + spatial_text(out.sizes) + " (onednn " +
                                  pd.impl_info_str() + ")"));
    l.need_scratchpad(pd.scratchpad_desc().get_size());
    l.set_buffer(n.outputs[0], dst.id);
    return true;
  }

  // aten::max_pool{2,3}d(x, kernel, stride, padding, dilation, ceil_mode)
  bool lower_max_pool(Lowering& l, const Node& n) {
    const Graph& g = l.graph();
    if (n.inputs.size() != 6) return false;
    const auto kernel = int_list(g, n.inputs[1]), stride = int_list(g, n.inputs[2]), padding = int_list(g, n.inputs[3]),
               dilation = int_list(g, n.inputs[4]);
    if (!kernel || !stride || !padding || !dilation || !g.value(n.inputs[5]).is_constant) return false;
    return add_pooling(l, n, dnnl::algorithm::pooling_max, *kernel, *stride, *padding, *dilation);
  }

  // aten::avg_pool{2,3}d(x, kernel, stride, padding, ceil_mode, count_include_pad, divisor_override)
  bool lower_avg_pool(Lowering& l, const Node& n) {
    const Graph& g = l.graph();
    if (n.inputs.size() != 7) return false;
    const auto kernel = int_list(g, n.inputs[1]), stride = int_list(g, n.inputs[2]), padding = int_list(g, n.inputs[3]);
    const Value &include = g.value(n.inputs[5]), &divisor = g.value(n.inputs[6]);
    if (!kernel || !stride || !padding || !include.is_constant || !include.constant.isBool() || !divisor.is_constant ||
        !divisor.constant.isNone())
      return false;
    return add_pooling(l, n,
                       include.constant.toBool() ? dnnl::algorithm::pooling_avg_include_padding
                                                 : dnnl::algorithm::pooling_avg_exclude_padding,
                       *kernel, *stride, *padding, {});
  }

  // aten::adaptive_avg_pool{2,3}d(x, output_size) where each output size divides the input's.
  bool lower_adaptive_avg_pool(Lowering& l, const Node& n) {
    const Graph& g = l.graph();
    const std::vector<int64_t>& in = g.value(n.inputs[0]).sizes;
    const std::vector<int64_t>& out = g.value(n.outputs[0]).sizes;
    if (in.size() < 4 || out.size() != in.size()) return false;
    std::vector<int64_t> kernel;
    for (size_t d = 2; d < in.size(); ++d) {
      if (out[d] <= 0 || in[d] % out[d] != 0) return false;
      kernel.push_back(in[d] / out[d]);
    }
    return add_pooling(l, n, dnnl::algorithm::pooling_avg_exclude_padding, kernel, kernel, {}, {});
  }

  // An activation on its own (one a convolution did not take).
  bool lower_activation(Lowering& l, const Node& n) {
    const Graph& g = l.graph();
    const std::optional<Activation> activation = activation_of(g, n);
    if (!activation) return false;
    const Activation& a = *activation;
    const std::optional<Operand> src = operand(l, n.inputs[0]);
    const Value& out = g.value(n.outputs[0]);
    if (!src || src->kind != Operand::Kind::kBuffer || out.sizes != g.value(n.inputs[0]).sizes) return false;
    float alpha = 0, beta = 0;
    const dnnl::algorithm alg = eltwise_algorithm(a, alpha, beta);
    dnnl::primitive_attr attr;
    attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
    dnnl::eltwise_forward::primitive_desc pd(
        dnnl::eltwise_forward::desc(dnnl::prop_kind::forward_inference, alg, src->desc, alpha, beta), attr, cpu_engine());
    const std::optional<Operand> in_place = reusable(l, n.inputs[0], src->desc);
    const Operand dst = in_place ? *in_place
                                 : Operand::buffer(new_buffer(l, pd.dst_desc(), out.sizes), pd.dst_desc());
    l.add_step(std::make_unique<PrimitiveStep>(
        dnnl::eltwise_forward(pd), std::vector<std::pair<int, Operand>>{{DNNL_ARG_SRC, *src}, {DNNL_ARG_DST, dst}},
        pd.scratchpad_desc(), a.name() + " " + spatial_text(out.sizes) + " (onednn)"));
    l.set_buffer(n.outputs[0], dst.id);
    return true;
  }

  // aten::add(a, b, 1) of two same-shaped float tensors, one of them a buffer.
  bool lower_add(Lowering& l, const Node& n) {
    const Graph& g = l.graph();
    if (n.inputs.size() != 3) return false;
    const Value& alpha = g.value(n.inputs[2]);
    if (!alpha.is_constant || !alpha.constant.isInt() || alpha.constant.toInt() != 1) return false;
    std::optional<Operand> a = operand(l, n.inputs[0]), b = operand(l, n.inputs[1]);
    const Value& out = g.value(n.outputs[0]);
    if (!a || !b || g.value(n.inputs[0]).sizes != out.sizes || g.value(n.inputs[1]).sizes != out.sizes) return false;
    if (a->kind != Operand::Kind::kBuffer && b->kind != Operand::Kind::kBuffer) return false;
    // aten::add_ writes its first argument: where a tensor (a graph input, a
    // view) holds it, eager's write reaches others, so ATen runs it.
    if (n.kind == "aten::add_" && a->kind != Operand::Kind::kBuffer) return false;
    int64_t first = n.inputs[0], second = n.inputs[1];
    // The destination may overwrite the first source: put the reusable one first.
    if (!reusable(l, first, a->desc) && reusable(l, second, b->desc)) {
      std::swap(a, b);
      std::swap(first, second);
    }
    if (a->kind != Operand::Kind::kBuffer) {
      std::swap(a, b);
      std::swap(first, second);
    }
    dnnl::primitive_attr attr;
    attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
    dnnl::binary::primitive_desc pd(dnnl::binary::desc(dnnl::algorithm::binary_add, a->desc, a->desc, a->desc), attr,
                                    cpu_engine());
    const Operand rhs = in_layout(l, second, *b, a->desc);
    const std::optional<Operand> in_place = reusable(l, first, a->desc);
    const Operand dst = in_place ? *in_place
                                 : Operand::buffer(new_buffer(l, pd.dst_desc(), out.sizes), pd.dst_desc());
    l.add_step(std::make_unique<PrimitiveStep>(
        dnnl::binary(pd),
        std::vector<std::pair<int, Operand>>{{DNNL_ARG_SRC_0, *a}, {DNNL_ARG_SRC_1, rhs}, {DNNL_ARG_DST, dst}},
        pd.scratchpad_desc(), "add " + spatial_text(out.sizes) + " (onednn)"));
    l.set_buffer(n.outputs[0], dst.id);
    return true;
  }

  // A linear layer: y = x W^T + b with constant W (OC x IC) and b. From
  // aten::linear(x, W, b), or aten::addmm(b, x, W^T, 1, 1) as LibTorch's
  // linear traces. None for anything else.
  struct Linear {
    int64_t x = -1;
    at::Tensor weight, bias;
  };
  std::optional<Linear> linear_of(const Graph& g, const Node& n) const {
    const auto constant_tensor = [&](int64_t v) -> std::optional<at::Tensor> {
      const Value& val = g.value(v);
      if (!val.is_constant || !val.constant.isTensor()) return std::nullopt;
      return val.constant.toTensor();
    };
    const auto one = [&](int64_t v) {
      const Value& val = g.value(v);
      return val.is_constant && ((val.constant.isInt() && val.constant.toInt() == 1) ||
                                 (val.constant.isDouble() && val.constant.toDouble() == 1.0));
    };
    Linear lin;
    std::optional<at::Tensor> w, b;
    if (n.kind == "aten::linear" && n.inputs.size() == 3) {
      lin.x = n.inputs[0];
      w = constant_tensor(n.inputs[1]);
      b = constant_tensor(n.inputs[2]);
      if (w) lin.weight = *w;
    } else if (n.kind == "aten::addmm" && n.inputs.size() == 5 && one(n.inputs[3]) && one(n.inputs[4])) {
      lin.x = n.inputs[1];
      w = constant_tensor(n.inputs[2]);
      b = constant_tensor(n.inputs[0]);
      if (w) lin.weight = w->t();
    } else {
      return std::nullopt;
    }
    if (!w || !b || lin.weight.dim() != 2 || lin.weight.scalar_type() != at::kFloat || !lin.weight.device().is_cpu() ||
        b->numel() != lin.weight.size(0) || b->dim() != 1)
      return std::nullopt;
    lin.bias = b->to(at::kFloat);
    return lin;
  }

  // The inner product of `x` (its operand, N x ... with IC values a row)
  // with a linear's weight reshaped to x's dims.
  dnnl::inner_product_forward::primitive_desc linear_pd(const Operand& x, const std::vector<int64_t>& x_sizes,
                                                       const Linear& lin, const std::vector<int64_t>& out) const {
    std::vector<int64_t> w_sizes = x_sizes;
    w_sizes[0] = lin.weight.size(0);
    dnnl::primitive_attr attr;
    attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
    return dnnl::inner_product_forward::primitive_desc(
        dnnl::inner_product_forward::desc(
            dnnl::prop_kind::forward_inference, x.desc,
            memory::desc(to_dims(w_sizes), memory::data_type::f32, memory::format_tag::any),
            memory::desc({lin.weight.size(0)}, memory::data_type::f32, memory::format_tag::a),
            memory::desc(to_dims(out), memory::data_type::f32, memory::format_tag::any)),
        attr, cpu_engine());
  }

  // aten::flatten(x, 1, -1) of a buffer that only linear layers read (each
  // of which oneDNN can run): no step; each linear reads x itself, with its
  // weight reshaped to x's dims.
  bool lower_flatten(Lowering& l, const Node& n) {
    const Graph& g = l.graph();
    const std::optional<Operand> x = operand(l, n.inputs[0]);
    const std::vector<int64_t>& in = g.value(n.inputs[0]).sizes;
    const Value& out = g.value(n.outputs[0]);
    const auto int_constant = [&](int64_t v, int64_t expected) {
      return g.value(v).is_constant && g.value(v).constant.isInt() && g.value(v).constant.toInt() == expected;
    };
    // x must not change before the linears read it: no node after this one may read (and overwrite) it.
    if (!x || x->kind != Operand::Kind::kBuffer || in.size() < 3 || out.sizes.size() != 2 || n.inputs.size() != 3 ||
        !int_constant(n.inputs[1], 1) || !(int_constant(n.inputs[2], -1) || int_constant(n.inputs[2], static_cast<int64_t>(in.size()) - 1)) ||
        !l.last_read_here(n.inputs[0]) || l.is_output(n.outputs[0]) || l.readers(n.outputs[0]).empty())
      return false;
    for (int64_t r : l.readers(n.outputs[0])) {
      const Node& reader = g.nodes[static_cast<size_t>(r)];
      const std::optional<Linear> lin = linear_of(g, reader);
      if (!lin || lin->x != n.outputs[0] || lin->weight.size(1) != out.sizes[1]) return false;
      linear_pd(*x, in, *lin, g.value(reader.outputs[0]).sizes);  // throws if oneDNN cannot
    }
    flattened_.emplace_back(n.outputs[0], n.inputs[0]);
    return true;
  }

  bool lower_linear(Lowering& l, const Node& n) {
    const Graph& g = l.graph();
    const std::optional<Linear> lin = linear_of(g, n);
    const Value& out = g.value(n.outputs[0]);
    if (!lin || out.dtype != at::kFloat || out.sizes.size() != 2) return false;
    int64_t x_value = lin->x;
    for (const auto& [flat, source] : flattened_)
      if (flat == lin->x) x_value = source;
    const std::optional<Operand> x = operand(l, x_value);
    const std::vector<int64_t>& x_sizes = g.value(x_value).sizes;
    if (!x || (x_value == lin->x && x_sizes.size() != 2)) return false;
    const dnnl::inner_product_forward::primitive_desc pd = linear_pd(*x, x_sizes, *lin, out.sizes);
    const Operand src = in_layout(l, x_value, *x, pd.src_desc());
    std::vector<int64_t> w_sizes = x_sizes;
    w_sizes[0] = lin->weight.size(0);
    const Operand weights = constant(lin->weight.contiguous().view(w_sizes), plain_desc(w_sizes), pd.weights_desc(), l);
    const Operand bias = constant(lin->bias, plain_desc({lin->bias.numel()}), pd.bias_desc(), l);
    const Operand dst = Operand::buffer(new_buffer(l, pd.dst_desc(), out.sizes), pd.dst_desc());
    auto step = std::make_unique<PrimitiveStep>(
        dnnl::inner_product_forward(pd),
        std::vector<std::pair<int, Operand>>{
            {DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, weights}, {DNNL_ARG_BIAS, bias}, {DNNL_ARG_DST, dst}},
        pd.scratchpad_desc(),
        "linear " + std::to_string(lin->weight.size(1)) + "->" + std::to_string(lin->weight.size(0)) + " (onednn " +
            pd.impl_info_str() + ")");
    step->flop = 2.0 * static_cast<double>(out.sizes[0]) * static_cast<double>(lin->weight.numel());
    l.add_step(std::move(step));
    l.need_scratchpad(pd.scratchpad_desc().get_size());
    l.set_buffer(n.outputs[0], dst.id);
    return true;
  }

  // The tensors a channel concatenation joins: aten::cat(list, 1) of a
  // prim::ListConstruct of same-rank float tensors. None for anything else.
  std::optional<std::vector<int64_t>> cat_inputs(const Lowering& l, const Node& cat) const {
    const Graph& g = l.graph();
    if (cat.kind != "aten::cat" || cat.inputs.size() != 2 || !g.value(cat.inputs[1]).is_constant ||
        !g.value(cat.inputs[1]).constant.isInt())
      return std::nullopt;
    const std::vector<int64_t>& out = g.value(cat.outputs[0]).sizes;
    int64_t dim = g.value(cat.inputs[1]).constant.toInt();
    if (dim < 0) dim += static_cast<int64_t>(out.size());
    if (dim != 1 || out.size() < 3) return std::nullopt;
    std::vector<int64_t> parts;
    for (const auto& [list, elements] : lists_)
      if (list == cat.inputs[0]) parts = elements;
    if (parts.empty()) {
      // Not yet claimed: the list node itself, as lower_list checks it.
      for (const Node& n : g.nodes)
        if (!n.outputs.empty() && n.outputs[0] == cat.inputs[0] && n.kind == "prim::ListConstruct") parts = n.inputs;
    }
    if (parts.empty()) return std::nullopt;
    for (int64_t p : parts) {
      const Value& v = g.value(p);
      if (v.is_constant || v.dtype != at::kFloat || v.sizes.size() != out.size()) return std::nullopt;
      for (size_t d = 0; d < out.size(); ++d)
        if (d != 1 && v.sizes[d] != out[d]) return std::nullopt;
    }
    return parts;
  }

  // The concatenation of `parts`' operands, all in the first's layout.
  dnnl::concat::primitive_desc cat_pd(const Lowering& l, const std::vector<int64_t>& parts) const {
    const std::optional<Operand> first = operand(l, parts[0]);
    if (!first) throw dnnl::error(dnnl_invalid_arguments, "no operand");
    std::vector<memory::desc> sources;
    for (int64_t p : parts) {
      const std::optional<memory::format_tag> tag = format_tag_of(first->desc);
      if (!tag || !operand(l, p)) throw dnnl::error(dnnl_invalid_arguments, "no operand");
      sources.emplace_back(to_dims(l.graph().value(p).sizes), memory::data_type::f32, *tag);
    }
    dnnl::primitive_attr attr;
    attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
    return dnnl::concat::primitive_desc(1, sources, cpu_engine(), attr);
  }

  // A list of tensors that only channel concatenations read, one of them a
  // buffer: no step; each aten::cat joins the operands itself.
  bool lower_list(Lowering& l, const Node& n) {
    if (n.outputs.size() != 1 || l.is_output(n.outputs[0]) || l.readers(n.outputs[0]).empty()) return false;
    bool any_buffer = false;
    for (int64_t p : n.inputs) any_buffer = any_buffer || l.buffer_of(p) >= 0;
    if (!any_buffer) return false;
    for (int64_t r : l.readers(n.outputs[0])) {
      const std::optional<std::vector<int64_t>> parts = cat_inputs(l, l.graph().nodes[static_cast<size_t>(r)]);
      if (!parts) return false;
      cat_pd(l, *parts);  // throws if oneDNN cannot
    }
    // Each part must still hold its value when the concatenations read it.
    for (int64_t p : n.inputs)
      if (l.readers(p).back() != static_cast<int64_t>(l.node_index())) return false;
    lists_.emplace_back(n.outputs[0], n.inputs);
    return true;
  }

  bool lower_cat(Lowering& l, const Node& n) {
    bool claimed = false;
    for (const auto& [list, elements] : lists_) claimed = claimed || list == n.inputs[0];
    const std::optional<std::vector<int64_t>> parts = cat_inputs(l, n);
    if (!claimed || !parts) return false;
    const dnnl::concat::primitive_desc pd = cat_pd(l, *parts);
    std::vector<std::pair<int, Operand>> args;
    for (size_t i = 0; i < parts->size(); ++i) {
      const int64_t p = (*parts)[i];
      args.emplace_back(DNNL_ARG_MULTIPLE_SRC + static_cast<int>(i),
                        in_layout(l, p, *operand(l, p), pd.src_desc(static_cast<int>(i))));
    }
    const Value& out = l.graph().value(n.outputs[0]);
    const Operand dst = Operand::buffer(new_buffer(l, pd.dst_desc(), out.sizes), pd.dst_desc());
    args.emplace_back(DNNL_ARG_DST, dst);
    l.need_scratchpad(pd.scratchpad_desc().get_size());
    l.add_step(std::make_unique<PrimitiveStep>(dnnl::concat(pd), std::move(args), pd.scratchpad_desc(),
                                               "cat " + std::to_string(parts->size()) + " -> " +
                                                   std::to_string(out.sizes[1]) + " " + spatial_text(out.sizes) +
                                                   " (onednn " + pd.impl_info_str() + ")"));
    l.set_buffer(n.outputs[0], dst.id);
    return true;
  }

  std::shared_ptr<WeightPool> pool_;                  // null: nothing shared with other plans
  std::vector<memory::desc> descs_;                   // by buffer id
  std::vector<std::pair<int64_t, std::vector<int64_t>>> lists_;  // (list, its tensors) left to the concatenations
  std::vector<std::pair<int64_t, int64_t>> flattened_;  // (flatten's output, its 4-D source) left to the linears
  std::vector<std::pair<int64_t, int64_t>> converted_;  // (value, buffer): reordered copies
  std::unordered_map<int64_t, int64_t> absorbed_;       // node -> its buffer (-1: none): a pyramid's other nodes
  std::shared_ptr<const Calibration> calibration_;      // int8 plans: the sources' calibrated ranges
  bool bf16_ = false;                                   // bf16 plans: convolutions in bf16 where oneDNN can
  std::unordered_map<int64_t, float> code_scale_;       // buffer -> s: it holds int8 codes, round(x x s)
};

}  // namespace

std::unique_ptr<Backend> make_backend(std::shared_ptr<WeightPool> pool,
                                      std::shared_ptr<const Calibration> calibration, bool bf16) {
  return std::make_unique<OnednnBackend>(std::move(pool), std::move(calibration), bf16);
}

}  // namespace reskit::engine::onednn
