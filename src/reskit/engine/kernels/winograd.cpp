#include "winograd.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <algorithm>

#include "reskit/core/error.h"
#include "../streamed_memory.h"
#include "winograd_layer.h"

namespace reskit::engine::kernels {
namespace {

// G, for U = G g G^T.
at::Tensor g_matrix() {
  return at::tensor({1.0 / 4, 0.0, 0.0,                 //
                     -1.0 / 6, -1.0 / 6, -1.0 / 6,      //
                     -1.0 / 6, 1.0 / 6, -1.0 / 6,       //
                     1.0 / 24, 1.0 / 12, 1.0 / 6,       //
                     1.0 / 24, -1.0 / 12, 1.0 / 6,      //
                     0.0, 0.0, 1.0},
                    at::kDouble)
      .view({6, 3});
}

at::Tensor bt_matrix() {
  return at::tensor({4.0, 0.0, -5.0, 0.0, 1.0, 0.0,    //
                     0.0, -4.0, -4.0, 1.0, 1.0, 0.0,   //
                     0.0, 4.0, -4.0, -1.0, 1.0, 0.0,   //
                     0.0, -2.0, -1.0, 2.0, 1.0, 0.0,   //
                     0.0, 2.0, -1.0, -2.0, 1.0, 0.0,   //
                     0.0, 4.0, 0.0, -5.0, 0.0, 1.0},
                    at::kDouble)
      .view({6, 6});
}

at::Tensor at_matrix() {
  return at::tensor({1.0, 1.0, 1.0, 1.0, 1.0, 0.0,     //
                     0.0, 1.0, -1.0, 2.0, -2.0, 0.0,   //
                     0.0, 1.0, 1.0, 4.0, 4.0, 0.0,     //
                     0.0, 1.0, -1.0, 8.0, -8.0, 1.0},
                    at::kDouble)
      .view({4, 6});
}

// The bytes of `floats` floats, rounded up to a cache line.
size_t aligned(int64_t floats) { return static_cast<size_t>((floats * 4 + 63) / 64 * 64); }

// Tiles per block. Each block streams all the transformed weights U through
// the cache, reusing each once per tile of the block: where U fits in L2, 24
// tiles (a multiple of every ISA's micro-kernel rows, 8, 6 and 4) keep a
// block's transformed tiles in L1 and L2; where it does not (256 channels and
// up), larger blocks, up to 96 tiles, read it from memory fewer times: a
// 31x31 map at dilation 2 (64 tiles) in one block runs 1.5x faster than in three.
constexpr int64_t kTileBlock = 24, kLargeTileBlock = 96;
constexpr int64_t kUInL2 = int64_t{1} << 20;

int64_t tile_block(int64_t tiles, int64_t u_bytes) {
  if (u_bytes <= kUInL2 || tiles <= kTileBlock) return kTileBlock;
  const int64_t blocks = (tiles + kLargeTileBlock - 1) / kLargeTileBlock;
  return ((tiles + blocks - 1) / blocks + 7) / 8 * 8;  // as even as blocks of whole micro-kernel rows allow
}

}  // namespace

struct WinogradConv::Layer {
  WinogradLayer args;  // what the kernels read
  Isa isa = Isa::kPortable;
  at::Tensor u, bias;  // what args.u and args.bias point into
};

bool WinogradConv::supports(const WinogradShape& s, Isa isa) {
  const int lanes = isa_lanes(isa);
  return s.in_channels > 0 && s.in_channels % lanes == 0 && s.out_channels % (2 * lanes) == 0 && s.out_height > 0 &&
         s.out_width > 0 && s.dilation_h >= 1 && s.dilation_w >= 1 && s.pad_top >= 0 && s.pad_left >= 0 &&
         s.pad_top <= 2 * s.dilation_h && s.pad_left <= 2 * s.dilation_w;
}

WinogradConv::WinogradConv(const WinogradShape& s, const at::Tensor& weight, const at::Tensor& bias,
                           ConvEpilogue epilogue, Isa isa)
    : layer_(std::make_unique<Layer>()) {
  if (static_cast<int>(isa) > static_cast<int>(best_isa()))
    throw Error(std::string("winograd: this CPU (or RESKIT_MAX_CPU_ISA) has no ") + isa_name(isa));
  if (!supports(s, isa) || weight.dim() != 4 || weight.size(0) != s.out_channels ||
      weight.size(1) != s.in_channels || weight.size(2) != 3 || weight.size(3) != 3)
    throw Error("winograd: this kernel does not run that convolution");
  Layer& layer = *layer_;
  layer.isa = isa;
  WinogradLayer& v = layer.args;
  v.n = s.batch;
  v.ic = s.in_channels;
  v.oc = s.out_channels;
  v.h = s.height;
  v.w = s.width;
  v.oh = s.out_height;
  v.ow = s.out_width;
  v.pad_t = s.pad_top;
  v.pad_l = s.pad_left;
  v.dh = s.dilation_h;
  v.dw = s.dilation_w;
  v.lanes = isa_lanes(isa);
  // Per phase: the first phase has the most rows and columns, ceil(oh / dh) and ceil(ow / dw).
  v.tiles_h = ((s.out_height + v.dh - 1) / v.dh + 3) / 4;
  v.tiles_w = ((s.out_width + v.dw - 1) / v.dw + 3) / 4;
  v.tiles = s.batch * v.dh * v.dw * v.tiles_h * v.tiles_w;
  v.tile_block = tile_block(v.tiles, 36 * v.ic * v.oc * int64_t{sizeof(float)});
  v.blocks = (v.tiles + v.tile_block - 1) / v.tile_block;
  // Output channels in chunks small enough that the stage-2 jobs (blocks x
  // chunks) keep every thread busy: a 14x14 map is a single block.
  const int64_t jobs_wanted = 4 * at::get_num_threads();
  v.oc_chunk = v.oc;
  while (v.blocks * (v.oc / v.oc_chunk) < jobs_wanted && v.oc_chunk % (4 * v.lanes) == 0) v.oc_chunk /= 2;
  v.chunks = v.oc / v.oc_chunk;
  v.v_floats = v.blocks * 36 * v.tile_block * v.ic;
  v.m_floats = 36 * v.tile_block * v.oc_chunk;

  // U = G g G^T in float64, then [36][oc / 2W][ic][2W], a few panels of
  // output channels at a time: the float64 temporaries of a whole layer of
  // 1024 x 2048 would be ~1.5 GB.
  const at::Tensor g = g_matrix();
  const int64_t pair = 2 * v.lanes, panels = v.oc / pair, panels_at_once = std::max<int64_t>(1, 64 / pair);
  std::shared_ptr<std::byte> u_storage = allocate_streamed(size_t{36} * v.oc * v.ic * sizeof(float));
  std::byte* u_data = u_storage.get();
  layer.u = at::from_blob(u_data, {36, panels, v.ic, pair}, [u_storage](void*) {}, at::kFloat);
  for (int64_t p = 0; p < panels; p += panels_at_once) {
    const int64_t count = std::min(panels_at_once, panels - p);
    const at::Tensor w = weight.narrow(0, p * pair, count * pair).to(at::kDouble);
    const at::Tensor u = at::matmul(at::matmul(g, w), g.t());  // OC' x IC x 6 x 6
    layer.u.narrow(1, p, count).copy_(u.reshape({count, pair, v.ic, 36}).permute({3, 0, 2, 1}));
  }
  v.u = layer.u.data_ptr<float>();
  layer.bias = bias.defined() ? bias.to(at::kFloat).contiguous() : at::zeros({v.oc}, at::kFloat);
  v.bias = layer.bias.data_ptr<float>();
  v.sum = epilogue.sum;
  v.activation = static_cast<int>(epilogue.activation);
  v.alpha = epilogue.alpha;
  v.beta = epilogue.beta;
}

WinogradConv::~WinogradConv() = default;

Isa WinogradConv::isa() const { return layer_->isa; }
int WinogradConv::lanes() const { return layer_->args.lanes; }
size_t WinogradConv::weight_bytes() const { return static_cast<size_t>(layer_->u.numel()) * sizeof(float); }
std::string WinogradConv::name() const {
  const bool atrous = layer_->args.dh > 1 || layer_->args.dw > 1;
  return std::string("reskit winograd 4x4 ") + (atrous ? "atrous " : "") + isa_name(layer_->isa);
}

size_t WinogradConv::scratch_bytes(int threads) const {
  const WinogradLayer& v = layer_->args;
  return aligned(v.v_floats) + static_cast<size_t>(std::max(threads, 1)) * aligned(v.m_floats);
}

void WinogradConv::run(const float* src, float* dst, std::byte* scratch) const {
  const WinogradLayer& v = layer_->args;
  float* transformed = reinterpret_cast<float*>(scratch);
  float* m_base = reinterpret_cast<float*>(scratch + aligned(v.v_floats));
  const size_t m_stride = aligned(v.m_floats) / sizeof(float);
  auto input = winograd_input_portable;
  auto output = winograd_output_portable;
#if RESKIT_X86_KERNELS
  if (layer_->isa == Isa::kAvx512) {
    input = winograd_input_avx512;
    output = winograd_output_avx512;
  } else if (layer_->isa == Isa::kAvx2) {
    input = winograd_input_avx2;
    output = winograd_output_avx2;
  }
#endif
  at::parallel_for(0, v.blocks * (v.ic / v.lanes), 1,
                   [&](int64_t begin, int64_t end) { input(v, src, transformed, begin, end); });
  // Each thread's M is its own; the pool's thread numbers index them.
  at::parallel_for(0, v.blocks * v.chunks, 1, [&](int64_t begin, int64_t end) {
    output(v, transformed, m_base + static_cast<size_t>(at::get_thread_num()) * m_stride, dst, begin, end);
  });
}

at::Tensor winograd_reference(const at::Tensor& input, const at::Tensor& weight, const at::Tensor& bias,
                              int64_t pad_top, int64_t pad_left, int64_t pad_bottom, int64_t pad_right,
                              const at::Tensor& residual, ConvEpilogue epilogue, int64_t dilation) {
  const at::Tensor x = at::constant_pad_nd(input.to(at::kFloat), {pad_left, pad_right, pad_top, pad_bottom});
  const int64_t n = x.size(0), oc = weight.size(0), d = dilation;
  const int64_t oh = x.size(2) - 2 * d, ow = x.size(3) - 2 * d;
  const at::Tensor bt = bt_matrix().to(at::kFloat), at_ = at_matrix().to(at::kFloat), g = g_matrix();
  const at::Tensor u = at::matmul(at::matmul(g, weight.to(at::kDouble)), g.t()).to(at::kFloat);  // OC x IC x 6 x 6
  at::Tensor out = at::zeros({n, oc, oh, ow}, at::kFloat);
  // Phase (py, px): the outputs py::d, px::d are the undilated convolution of the input's py::d, px::d.
  for (int64_t py = 0; py < d; ++py)
    for (int64_t px = 0; px < d; ++px) {
      const at::Tensor phase = x.slice(2, py, x.size(2), d).slice(3, px, x.size(3), d);
      const int64_t ph = (oh - py + d - 1) / d, pw = (ow - px + d - 1) / d;
      if (ph <= 0 || pw <= 0) continue;
      const int64_t th = (ph + 3) / 4, tw = (pw + 3) / 4;
      // Whole tiles: the phase's ph + 2 input rows (pw + 2 columns), padded on the bottom and the right to 4 x tiles + 2.
      const at::Tensor xp = at::constant_pad_nd(phase.slice(2, 0, ph + 2).slice(3, 0, pw + 2),
                                                {0, (tw - 1) * 4 + 4 - pw, 0, (th - 1) * 4 + 4 - ph});
      at::Tensor tiles = at::zeros({n, oc, th * 4, tw * 4}, at::kFloat);
      for (int64_t ty = 0; ty < th; ++ty)
        for (int64_t tx = 0; tx < tw; ++tx) {
          const at::Tensor dt = xp.slice(2, ty * 4, ty * 4 + 6).slice(3, tx * 4, tx * 4 + 6);  // N x IC x 6 x 6
          const at::Tensor v = at::matmul(at::matmul(bt, dt), bt.t());
          const at::Tensor m = at::einsum("nixy,oixy->noxy", {v, u});  // N x OC x 6 x 6
          tiles.slice(2, ty * 4, ty * 4 + 4).slice(3, tx * 4, tx * 4 + 4).copy_(at::matmul(at::matmul(at_, m), at_.t()));
        }
      out.slice(2, py, oh, d).slice(3, px, ow, d).copy_(tiles.slice(2, 0, ph).slice(3, 0, pw));
    }
  if (bias.defined()) out += bias.to(at::kFloat).view({1, oc, 1, 1});
  if (epilogue.sum) out += residual;
  switch (epilogue.activation) {
    case ConvEpilogue::Activation::kRelu: out = out.clamp_min(0); break;
    case ConvEpilogue::Activation::kLeakyRelu: out = at::where(out > 0, out, out * epilogue.alpha); break;
    case ConvEpilogue::Activation::kClip: out = out.clamp(epilogue.alpha, epilogue.beta); break;
    case ConvEpilogue::Activation::kNone: break;
  }
  return out;
}

}  // namespace reskit::engine::kernels
