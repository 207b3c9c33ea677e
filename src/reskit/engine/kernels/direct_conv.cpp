#include "direct_conv.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <algorithm>

#include "reskit/core/error.h"
#include "../streamed_memory.h"
#include "direct_conv_layer.h"

namespace reskit::engine::kernels {
namespace {

// Maps up to 16x16 output pixels per image: past that oneDNN's kernels,
// blocked over rows, have the weight reuse this one is for.
constexpr int64_t kMaxPixels = 256;
constexpr int64_t kChunkBytes = 16 << 10;  // with a group's inputs, within L1

int max_rows(Isa isa) {
  switch (isa) {
    case Isa::kAvx512: return 14;
    case Isa::kAvx2: return 6;
    case Isa::kPortable: return 4;
  }
  return 4;
}

}  // namespace

struct DirectConv::Layer {
  DirectLayer args;  // what the kernels read
  Isa isa = Isa::kPortable;
  at::Tensor u, bias;  // what args.u and args.bias point into
};

bool DirectConv::supports(const DirectShape& s, Isa isa) {
  const int lanes = isa_lanes(isa);
  return s.batch > 0 && s.in_channels > 0 && s.in_channels % lanes == 0 && s.out_channels > 0 &&
         s.out_channels % (2 * lanes) == 0 && s.height > 0 && s.width > 0 && s.out_height > 0 && s.out_width > 0 &&
         s.out_height * s.out_width <= kMaxPixels && s.kernel_h > 0 && s.kernel_w > 0 && s.stride_h > 0 &&
         s.stride_w > 0 && s.dilation_h > 0 && s.dilation_w > 0 && s.pad_top >= 0 && s.pad_left >= 0;
}

DirectConv::DirectConv(const DirectShape& s, const at::Tensor& weight, const at::Tensor& bias, ConvEpilogue epilogue,
                       Isa isa)
    : layer_(std::make_unique<Layer>()) {
  if (static_cast<int>(isa) > static_cast<int>(best_isa()))
    throw Error(std::string("direct conv: this CPU (or RESKIT_MAX_CPU_ISA) has no ") + isa_name(isa));
  if (!supports(s, isa) || weight.dim() != 4 || weight.size(0) != s.out_channels ||
      weight.size(1) != s.in_channels || weight.size(2) != s.kernel_h || weight.size(3) != s.kernel_w)
    throw Error("direct conv: this kernel does not run that convolution");
  Layer& layer = *layer_;
  layer.isa = isa;
  DirectLayer& v = layer.args;
  v.n = s.batch;
  v.ic = s.in_channels;
  v.oc = s.out_channels;
  v.h = s.height;
  v.w = s.width;
  v.oh = s.out_height;
  v.ow = s.out_width;
  v.kh = s.kernel_h;
  v.kw = s.kernel_w;
  v.sh = s.stride_h;
  v.sw = s.stride_w;
  v.dh = s.dilation_h;
  v.dw = s.dilation_w;
  v.pad_t = s.pad_top;
  v.pad_l = s.pad_left;
  v.lanes = isa_lanes(isa);
  // As few groups as the micro-kernel's rows allow (49 pixels: 13, 12, 12, 12 on AVX-512).
  const int64_t pixels = v.oh * v.ow;
  v.groups = (pixels + max_rows(isa) - 1) / max_rows(isa);
  v.rows = (pixels + v.groups - 1) / v.groups;
  // Weights in chunks of at most kChunkBytes per panel, read once for every group
  // of a job; jobs enough for every thread, with as many groups each as that allows.
  const int64_t icbs = v.ic / v.lanes, icb_bytes = v.kh * v.kw * v.lanes * 2 * v.lanes * int64_t{sizeof(float)};
  v.chunk = std::clamp<int64_t>(kChunkBytes / icb_bytes, 1, icbs);
  const int64_t panel_jobs = (v.oc / (2 * v.lanes)) * v.n, jobs_wanted = 2 * at::get_num_threads();
  v.group_block = v.groups;
  while (v.group_block > 1 && panel_jobs * ((v.groups + v.group_block - 1) / v.group_block) < jobs_wanted)
    v.group_block = (v.group_block + 1) / 2;
  const bool reads_source = v.kh == 1 && v.kw == 1 && v.sh == 1 && v.sw == 1 && v.pad_t == 0 && v.pad_l == 0 &&
                            v.oh == v.h && v.ow == v.w;
  v.gathered = !reads_source;
  v.a_floats = v.gathered ? v.n * v.groups * v.ic * v.kh * v.kw * v.rows : 0;

  // U[oc / 2W][ic / W][tap][W][2W] = weight[panel 2W + o][icb W + i][tap].
  const int64_t pair = 2 * v.lanes, taps = v.kh * v.kw;
  std::shared_ptr<std::byte> u_storage = allocate_streamed(static_cast<size_t>(v.oc * v.ic * taps) * sizeof(float));
  layer.u = at::from_blob(u_storage.get(), {v.oc / pair, v.ic / v.lanes, taps, v.lanes, pair},
                          [u_storage](void*) {}, at::kFloat);
  layer.u.copy_(weight.to(at::kFloat)
                    .reshape({v.oc / pair, pair, v.ic / v.lanes, v.lanes, taps})
                    .permute({0, 2, 4, 3, 1}));
  v.u = layer.u.data_ptr<float>();
  layer.bias = bias.defined() ? bias.to(at::kFloat).contiguous() : at::zeros({v.oc}, at::kFloat);
  v.bias = layer.bias.data_ptr<float>();
  v.sum = epilogue.sum;
  v.activation = static_cast<int>(epilogue.activation);
  v.alpha = epilogue.alpha;
  v.beta = epilogue.beta;
}

DirectConv::~DirectConv() = default;

size_t DirectConv::weight_bytes() const { return static_cast<size_t>(layer_->u.numel()) * sizeof(float); }

std::string DirectConv::name() const { return std::string("reskit direct ") + isa_name(layer_->isa); }

size_t DirectConv::scratch_bytes(int) const { return static_cast<size_t>(layer_->args.a_floats) * sizeof(float); }

void DirectConv::run(const float* src, float* dst, std::byte* scratch) const {
  const DirectLayer& v = layer_->args;
  auto gather = direct_gather_portable;
  auto compute = direct_compute_portable;
#if RESKIT_X86_KERNELS
  if (layer_->isa == Isa::kAvx512) {
    gather = direct_gather_avx512;
    compute = direct_compute_avx512;
  } else if (layer_->isa == Isa::kAvx2) {
    gather = direct_gather_avx2;
    compute = direct_compute_avx2;
  }
#endif
  const float* a = src;
  if (v.gathered) {
    float* gathered = reinterpret_cast<float*>(scratch);
    at::parallel_for(0, v.n * v.groups * (v.ic / v.lanes), 1,
                     [&](int64_t begin, int64_t end) { gather(v, src, gathered, begin, end); });
    a = gathered;
  }
  at::parallel_for(0, (v.oc / (2 * v.lanes)) * v.n * ((v.groups + v.group_block - 1) / v.group_block), 1,
                   [&](int64_t begin, int64_t end) { compute(v, a, dst, begin, end); });
}

}  // namespace reskit::engine::kernels
