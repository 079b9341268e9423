#include "ops/cpu/conv_direct.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <utility>

#include "ops/cpu/conv_direct_parts.h"
#include "ops/cpu/conv_simd.h"

namespace frugal {

using namespace direct_detail;

namespace {

using simd::Vec;

// Output pixels the weight gradient sums in registers (over several samples when they are small) before
// adding its accumulators to dw.
constexpr int64_t kGradPixels = 1024;

DirectConvPlan make_plan(int64_t in_channels, int64_t out_channels, int64_t in_h, int64_t in_w,
                         int64_t kernel_h, int64_t kernel_w, int64_t pad_h, int64_t pad_w,
                         int64_t dilation_h, int64_t dilation_w, int64_t stride_h = 1,
                         int64_t stride_w = 1) {
  DirectConvPlan p;
  p.in_channels = in_channels;
  p.out_channels = out_channels;
  p.taps = kernel_h * kernel_w;
  p.kernel_h = kernel_h;
  p.kernel_w = kernel_w;
  p.dilation_h = dilation_h;
  p.dilation_w = dilation_w;
  p.in_h = in_h;
  p.in_w = in_w;
  p.pad_h = pad_h;
  p.pad_w = pad_w;
  p.stride_h = stride_h;
  p.stride_w = stride_w;
  p.out_h = (in_h + 2 * pad_h - dilation_h * (kernel_h - 1) - 1) / stride_h + 1;
  p.out_w = (in_w + 2 * pad_w - dilation_w * (kernel_w - 1) - 1) / stride_w + 1;
  // Output row oh reads phase rows oh + shift, shift <= the last tap's.
  p.phase_h = p.out_h + tap_phase(kernel_h - 1, dilation_h, stride_h).shift;
  p.padded_w = p.out_w + tap_phase(kernel_w - 1, dilation_w, stride_w).shift;
  // At stride one, rows share their padding columns: a row holds pad_w zeros then the W input values,
  // and the taps right of the last column read the next row's leading zeros (position W + 2*pad_w - 1
  // at most, i.e. pad_w - 1 of the next row). That drops pad_w discarded columns per row of the wide
  // grid (32x32 maps: 34 -> 33 columns, 16x16: 18 -> 17) and changes no sum: the same products of
  // the same zeros and inputs, in the same order.
  if (stride_w == 1) p.padded_w = std::max(p.out_w, std::min(p.padded_w, in_w + pad_w));
  p.wide_pixels = round_up(p.out_h * p.padded_w, kLanes);
  std::vector<int64_t> phase_of_tap, shift_of_tap;  // phase index, offset within the phase
  int64_t max_shift = 0;
  for (int64_t kh = 0; kh < kernel_h; ++kh)
    for (int64_t kw = 0; kw < kernel_w; ++kw) {
      const TapPhase r = tap_phase(kh, dilation_h, stride_h),
                     c = tap_phase(kw, dilation_w, stride_w);
      shift_of_tap.push_back(r.shift * p.padded_w + c.shift);
      max_shift = std::max(max_shift, shift_of_tap.back());
      phase_of_tap.push_back(r.phase * stride_w + c.phase);
    }
  std::vector<int64_t> phase_index(stride_h * stride_w, -1);  // used phases in (a, b) order
  for (int64_t id : phase_of_tap) phase_index[id] = 0;
  for (int64_t id = 0; id < stride_h * stride_w; ++id)
    if (phase_index[id] == 0) {
      phase_index[id] = static_cast<int64_t>(p.phases.size());
      p.phases.push_back({id / stride_w, id % stride_w});
    }
  // The last tile reads up to wide_pixels - 1 + the largest shift.
  p.phase_stride = round_up(std::max(p.phase_h * p.padded_w, p.wide_pixels + max_shift), kLanes);
  p.plane_stride = static_cast<int64_t>(p.phases.size()) * p.phase_stride;
  for (int64_t t = 0; t < p.taps; ++t)
    p.tap_offsets.push_back(phase_index[phase_of_tap[t]] * p.phase_stride + shift_of_tap[t]);
  p.out_rows = round_up(out_channels, kOutTile);
  p.grad_samples = std::clamp<int64_t>(kGradPixels / (p.out_h * p.out_w), 1, 16);
  return p;
}

bool wide_grid_pays(const DirectConvPlan& p) {
  return p.wide_pixels <= kMaxWideGridOverhead * p.out_h * p.out_w;
}

// Calls run(pixel, count, input_index) for each row of phase plane `phase` that reads the input:
// pixels [pixel, pixel + count) of the plane read input_index + j*stride_w, j < count, of one [H,
// W] plane. Every other pixel of the plane is padding.
template <class Run>
void for_each_input_run(const DirectConvPlan& p, const DirectConvPlan::Phase& phase,
                        const Run& run) {
  const Span rows = inside_input(p.in_h, p.pad_h, p.stride_h, phase.row, p.phase_h);
  const Span cols = inside_input(p.in_w, p.pad_w, p.stride_w, phase.col, p.padded_w);
  if (cols.begin == cols.end) return;
  for (int64_t i = rows.begin; i < rows.end; ++i)
    run(i * p.padded_w + cols.begin, cols.end - cols.begin,
        (p.stride_h * i + phase.row - p.pad_h) * p.in_w + p.stride_w * cols.begin + phase.col -
            p.pad_w);
}

}  // namespace

namespace {

// Dense-grid planes: xpad[c][k][r][ow] = padded input (r, ow + phases[k].col), OW columns a row.
void pad_shifted_planes(const DirectConvPlan& p, const float* x, float* xpad) {
  const int64_t ow_count = p.out_w;
  for (int64_t c = 0; c < p.in_channels; ++c) {
    const float* src = x + c * p.in_h * p.in_w;
    for (size_t k = 0; k < p.phases.size(); ++k) {
      float* dst = xpad + c * p.plane_stride + k * p.phase_stride;
      // Output columns [lo, hi) read input columns [lo + shift, hi + shift) inside the image.
      const int64_t shift = p.phases[k].col - p.pad_w;
      const int64_t lo = std::clamp<int64_t>(-shift, 0, ow_count),
                    hi = std::clamp<int64_t>(p.in_w - shift, lo, ow_count);
      for (int64_t r = 0; r < p.phase_h; ++r, dst += ow_count) {
        const int64_t ih = r - p.pad_h;
        if (ih < 0 || ih >= p.in_h || lo == hi) {
          std::fill(dst, dst + ow_count, 0.0f);
          continue;
        }
        std::fill(dst, dst + lo, 0.0f);
        std::memcpy(dst + lo, src + ih * p.in_w + lo + shift, sizeof(float) * (hi - lo));
        std::fill(dst + hi, dst + ow_count, 0.0f);
      }
      std::fill(dst, xpad + c * p.plane_stride + (k + 1) * p.phase_stride, 0.0f);
    }
  }
}

}  // namespace

void direct_detail::pad_planes(const DirectConvPlan& p, const float* x, float* xpad) {
  if (p.dense) return pad_shifted_planes(p, x, xpad);
  for (int64_t c = 0; c < p.in_channels; ++c) {
    const float* src = x + c * p.in_h * p.in_w;
    for (size_t k = 0; k < p.phases.size(); ++k) {
      float* dst = xpad + c * p.plane_stride + k * p.phase_stride;
      int64_t written = 0;  // the padding between runs is one contiguous fill
      for_each_input_run(p, p.phases[k], [&](int64_t pixel, int64_t count, int64_t in) {
        std::fill(dst + written, dst + pixel, 0.0f);
        float* row = dst + pixel;
        if (p.stride_w == 1) {
          std::memcpy(row, src + in, sizeof(float) * count);
        } else if (p.stride_w == 2) {  // a constant stride the compiler vectorises (ResNet's case)
          for (int64_t j = 0; j < count; ++j) row[j] = src[in + j * 2];
        } else {
          for (int64_t j = 0; j < count; ++j) row[j] = src[in + j * p.stride_w];
        }
        written = pixel + count;
      });
      std::fill(dst + written, dst + p.phase_stride, 0.0f);
    }
  }
}

namespace {

// Where a tile of the wide grid goes when it is stored straight into the output planes instead of
// into a wide buffer: the tile's first wide pixel, the grid's geometry, and how many of its kOutTile
// channels are real (the last block may hold padding rows of packed zeros).
struct PlaneStore {
  int64_t q, padded_w, out_w, out_h, channels;
};

// out[o][q + j] = sum over c, t of packed[c][t][o] * in[c][q + j + tap_offset[t]] for the tile of
// kOutTile channels and PT vectors of pixels starting at q (in and out already point at q). With
// `planes`, out is instead the block's first output plane ([channels, OH*OW], out_stride apart) and
// each vector is stored under a mask, row segment by row segment, skipping the discarded columns.
template <int PT>
void forward_tile(const float* in, int64_t plane_stride, int64_t channels, const int64_t* offsets,
                  int64_t taps, const float* packed, float* out, int64_t out_stride,
                  const PlaneStore* planes) {
  Vec acc[kOutTile][PT];
  for (auto& row : acc)
    for (Vec& a : row) a = simd::zero();
  for (int64_t c = 0; c < channels; ++c) {
    const float* plane = in + c * plane_stride;
    for (int64_t t = 0; t < taps; ++t, packed += kOutTile) {
      const float* src = plane + offsets[t];
      Vec v[PT];
      for (int j = 0; j < PT; ++j) v[j] = simd::load(src + j * kLanes);
      for (int o = 0; o < kOutTile; ++o) {
        const Vec w = simd::broadcast(packed + o);
        for (int j = 0; j < PT; ++j) acc[o][j] = simd::fma(w, v[j], acc[o][j]);
      }
    }
  }
#if defined(__AVX512F__) && defined(__AVX512DQ__)
  if (planes) {
    const PlaneStore& ps = *planes;
    for (int j = 0; j < PT; ++j)
      for (int64_t lane = 0; lane < kLanes;) {
        const int64_t pixel = ps.q + j * kLanes + lane, oh = pixel / ps.padded_w, ow = pixel % ps.padded_w;
        if (oh >= ps.out_h) break;
        const int64_t run = std::min<int64_t>(kLanes - lane, ps.padded_w - ow);  // lanes left in the row
        if (ow < ps.out_w) {
          const int64_t valid = std::min(run, ps.out_w - ow);
          const __mmask16 mask = static_cast<__mmask16>(((1u << valid) - 1) << lane);
          // Lane l lands at oh*OW + ow + (l - lane); masked-off lanes are never touched.
          const int64_t at = oh * ps.out_w + ow - lane;
          for (int o = 0; o < ps.channels; ++o) _mm512_mask_storeu_ps(out + o * out_stride + at, mask, acc[o][j]);
        }
        lane += run;
      }
    return;
  }
#endif
  for (int o = 0; o < kOutTile; ++o)
    for (int j = 0; j < PT; ++j) simd::store(out + o * out_stride + j * kLanes, acc[o][j]);
}

using ForwardTile = void (*)(const float*, int64_t, int64_t, const int64_t*, int64_t, const float*,
                             float*, int64_t, const PlaneStore*);

// forward_tile<pt> for runtime pt in [1, kPixelTile]: full tiles, then one narrower tile for the
// rest of the wide grid, so small images round up to a vector rather than to a whole tile.
template <int... PT>
constexpr std::array<ForwardTile, sizeof...(PT)> forward_tile_table(
    std::integer_sequence<int, PT...>) {
  return {&forward_tile<PT + 1>...};
}
constexpr auto kForwardTiles = forward_tile_table(std::make_integer_sequence<int, kPixelTile>{});

// Channels-last phase planes for the weight gradient: xt[c / kLanes][phase][pixel][c % kLanes]
// (phases plane_stride / phases.size() pixels apart), zero in the padding and in the lanes past
// in_channels, so one aligned vector holds a pixel of kLanes channels. Pixels past a phase plane
// are never read.
int64_t channel_blocks(const DirectConvPlan& p) { return (p.in_channels + kLanes - 1) / kLanes; }

#if defined(__AVX512F__) && defined(__AVX512DQ__)

// src[j * stride] for j < count (count <= 16, stride 1 or 2), zeros in the lanes past count; reads
// nothing past the last of them.
inline __m512 load_pixels(const float* src, int64_t stride, int64_t count) {
  if (stride == 1) return _mm512_maskz_loadu_ps(static_cast<__mmask16>((1u << count) - 1), src);
  const int64_t span = 2 * count - 1;  // floats from src[0] to the last pixel read
  const __m512 lo = _mm512_maskz_loadu_ps(static_cast<__mmask16>((1u << std::min<int64_t>(span, 16)) - 1), src);
  const __m512 hi = span > 16 ? _mm512_maskz_loadu_ps(static_cast<__mmask16>((1u << (span - 16)) - 1), src + 16)
                              : _mm512_setzero_ps();
  const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
  return _mm512_permutex2var_ps(lo, even, hi);
}

// lanes[j * kLanes + l] = planes[l * plane + in + j * stride] for j < count, l < channels, zero in
// lanes l >= channels: 16 pixels at a time, transposed in registers.
void transpose_run(const float* planes, int64_t plane, int64_t channels, int64_t in, int64_t stride,
                   int64_t count, float* lanes) {
  for (int64_t j = 0; j < count; j += kLanes) {
    const int64_t n = std::min<int64_t>(kLanes, count - j);
    __m512 r[16];
    for (int64_t l = 0; l < kLanes; ++l)
      r[l] = l < channels ? load_pixels(planes + l * plane + in + j * stride, stride, n) : _mm512_setzero_ps();
    transpose_16x16(r);
    for (int64_t i = 0; i < n; ++i) _mm512_storeu_ps(lanes + (j + i) * kLanes, r[i]);
  }
}
#endif

void pad_channels_last(const DirectConvPlan& p, const float* x, float* xt) {
  const int64_t plane = p.in_h * p.in_w;
  for (int64_t cb = 0; cb < channel_blocks(p); ++cb) {
    const int64_t channels = std::min<int64_t>(kLanes, p.in_channels - cb * kLanes);
    const float* planes = x + cb * kLanes * plane;
    for (size_t k = 0; k < p.phases.size(); ++k) {
      float* block = xt + (cb * p.plane_stride + k * p.phase_stride) * kLanes;
      int64_t written = 0;
      for_each_input_run(p, p.phases[k], [&](int64_t pixel, int64_t count, int64_t in) {
        std::fill(block + written * kLanes, block + pixel * kLanes, 0.0f);
        written = pixel + count;
#if defined(__AVX512F__) && defined(__AVX512DQ__)
        if (p.stride_w <= 2)
          return transpose_run(planes, plane, channels, in, p.stride_w, count, block + pixel * kLanes);
#endif
        for (int64_t j = 0; j < count; ++j, in += p.stride_w) {  // one pixel's channels, one vector
          float* lanes = block + (pixel + j) * kLanes;
          for (int64_t l = 0; l < channels; ++l) lanes[l] = planes[l * plane + in];
          for (int64_t l = channels; l < kLanes; ++l) lanes[l] = 0.0f;
        }
      });
      // Up to the phase's end: the last row's rightmost taps read into the row below it.
      std::fill(block + written * kLanes, block + p.phase_stride * kLanes, 0.0f);
    }
  }
}

// acc[o][t][lane] = sum over samples and output pixels (oh, ow) of dy[o][oh][ow] * xt[pixel(oh, ow) +
// offsets[t]][lane] for OT output channels, TT taps and one block of kLanes input channels (the lanes);
// then dw[o * dw_stride + lane * taps + t] += acc for the block's `channels` real lanes.
template <int OT, int TT>
void weight_grad_tile(const DirectConvPlan& p, const float* xt, int64_t xt_sample_stride, const float* dy,
                      int64_t samples, const int64_t* offsets, int64_t channels, float* dw,
                      int64_t dw_stride) {
  const int64_t dy_plane = p.out_h * p.out_w, dy_sample = p.out_channels * dy_plane;
  Vec acc[OT][TT];
  for (auto& row : acc)
    for (Vec& a : row) a = simd::zero();
  for (int64_t s = 0; s < samples; ++s)
    for (int64_t oh = 0; oh < p.out_h; ++oh) {
      const float* dy_row = dy + s * dy_sample + oh * p.out_w;
      const float* x_row = xt + s * xt_sample_stride + oh * p.padded_w * kLanes;
      for (int64_t ow = 0; ow < p.out_w; ++ow) {
        Vec d[OT];
        for (int o = 0; o < OT; ++o) d[o] = simd::broadcast(dy_row + o * dy_plane + ow);
        for (int t = 0; t < TT; ++t) {
          const Vec v = simd::load(x_row + (ow + offsets[t]) * kLanes);
          for (int o = 0; o < OT; ++o) acc[o][t] = simd::fma(d[o], v, acc[o][t]);
        }
      }
    }
  for (int o = 0; o < OT; ++o)
    for (int t = 0; t < TT; ++t) {
      float lanes[kLanes];
      simd::store(lanes, acc[o][t]);
      for (int64_t l = 0; l < channels; ++l) dw[o * dw_stride + l * p.taps + t] += lanes[l];
    }
}

using WeightGradTile = void (*)(const DirectConvPlan&, const float*, int64_t, const float*, int64_t,
                                const int64_t*, int64_t, float*, int64_t);

// weight_grad_tile<ot, tt> for runtime ot in [1, kGradOutTile], tt in [1, kGradTapTile].
template <int OT, int... TT>
constexpr std::array<WeightGradTile, sizeof...(TT)> tap_row(std::integer_sequence<int, TT...>) {
  return {&weight_grad_tile<OT, TT + 1>...};
}
template <int... OT>
constexpr auto grad_tile_table(std::integer_sequence<int, OT...>) {
  return std::array<std::array<WeightGradTile, kGradTapTile>, sizeof...(OT)>{
      tap_row<OT + 1>(std::make_integer_sequence<int, kGradTapTile>{})...};
}
constexpr auto kGradTiles = grad_tile_table(std::make_integer_sequence<int, kGradOutTile>{});

}  // namespace

bool direct_conv_applies(const Conv2dGeometry& g) {
  return g.groups == 1 && wide_grid_pays(direct_forward_plan(g));
}

DirectConvPlan direct_forward_plan(const Conv2dGeometry& g) {
  return make_plan(g.in_channels, g.out_channels, g.in_h, g.in_w, g.kernel_h, g.kernel_w, g.pad_h,
                   g.pad_w, g.dilation_h, g.dilation_w, g.stride_h, g.stride_w);
}

bool direct_backward_data_applies(const Conv2dGeometry& g) {
  return g.stride_h == 1 && g.stride_w == 1 && g.groups == 1 &&
         g.pad_h <= g.dilation_h * (g.kernel_h - 1) && g.pad_w <= g.dilation_w * (g.kernel_w - 1) &&
         g.in_channels >= kOutTile && wide_grid_pays(direct_backward_data_plan(g));
}

// The dense grid's kernel_w input copies cost L1 room (the wide grid's taps of one row share cache
// lines): it runs where they fit in L1 with room to spare. Those are the convs of few input channels
// (the first layer), whose output copy out of the wide grid costs more than the multiply-adds: there
// the dense grid, being the output plane, is written in place (direct_conv_sample).
constexpr int64_t kMaxDenseInputFloats = 12 * 1024;  // 48 KiB

DirectConvPlan dense_grid_plan(const DirectConvPlan& wide) {
  if (wide.stride_h != 1 || wide.stride_w != 1) return wide;
  DirectConvPlan p = wide;
  p.dense = true;
  p.phase_h = p.out_h + p.dilation_h * (p.kernel_h - 1);  // the padded input's rows
  p.padded_w = p.out_w;
  p.wide_pixels = round_up(p.out_h * p.out_w, kLanes);
  p.phases.clear();
  for (int64_t kw = 0; kw < p.kernel_w; ++kw) p.phases.push_back({0, kw * p.dilation_w});
  // The last tile reads up to wide_pixels - 1 + the lowest row's offset.
  const int64_t max_shift = p.dilation_h * (p.kernel_h - 1) * p.out_w;
  p.phase_stride = round_up(std::max(p.phase_h * p.out_w, p.wide_pixels + max_shift), kLanes);
  p.plane_stride = p.kernel_w * p.phase_stride;
  p.tap_offsets.clear();
  for (int64_t kh = 0; kh < p.kernel_h; ++kh)
    for (int64_t kw = 0; kw < p.kernel_w; ++kw)
      p.tap_offsets.push_back(kw * p.phase_stride + kh * p.dilation_h * p.out_w);
  return p.in_channels * p.plane_stride <= kMaxDenseInputFloats ? p : wide;
}

DirectConvPlan direct_backward_data_plan(const Conv2dGeometry& g) {
  return make_plan(g.out_channels, g.in_channels, g.out_h(), g.out_w(), g.kernel_h, g.kernel_w,
                   g.dilation_h * (g.kernel_h - 1) - g.pad_h, g.dilation_w * (g.kernel_w - 1) - g.pad_w,
                   g.dilation_h, g.dilation_w);
}

// A strided conv's split planes of outputs below 8x8 hold mostly padding and tile tails; im2col +
// sgemm with several samples per GEMM (conv_cpu.cpp) computes that weight gradient 1.3x faster
// (256->512 channels, 8x8 -> 4x4, 1 thread).
constexpr int64_t kMinStridedGradPixels = 64;

bool direct_weight_grad_applies(const Conv2dGeometry& g) {
  const bool strided = g.stride_h * g.stride_w > 1;
  return g.groups == 1 && g.in_channels >= kLanes &&
         !(strided && g.out_h() * g.out_w() < kMinStridedGradPixels);
}

size_t direct_packed_weight_floats(const DirectConvPlan& p) {
  return static_cast<size_t>(p.out_rows * p.in_channels * p.taps);
}

size_t direct_conv_scratch_floats(const DirectConvPlan& p) {
  return static_cast<size_t>(p.in_channels * p.plane_stride + p.out_rows * p.wide_pixels);
}

size_t direct_weight_grad_scratch_floats(const DirectConvPlan& p) {
  return static_cast<size_t>(p.grad_samples * channel_blocks(p) * p.plane_stride * kLanes);
}

void direct_detail::compute_wide(const DirectConvPlan& p, const float* xpad, const float* packed,
                                 float* wide) {
  const int64_t weights_per_tile = p.in_channels * p.taps * kOutTile;
  for (int64_t q = 0; q < p.wide_pixels; q += kTilePixels) {
    const ForwardTile tile = kForwardTiles[std::min(kTilePixels, p.wide_pixels - q) / kLanes - 1];
    for (int64_t ob = 0; ob < p.out_rows / kOutTile; ++ob)
      tile(xpad + q, p.plane_stride, p.in_channels, p.tap_offsets.data(), p.taps,
           packed + ob * weights_per_tile, wide + ob * kOutTile * p.wide_pixels + q, p.wide_pixels, nullptr);
  }
}

void direct_detail::gemm_tiles(const float* in, int64_t in_stride, int64_t channels, const float* packed,
                               int64_t out_rows, int64_t pixels, float* out, int64_t out_stride) {
  const int64_t offset = 0;
  for (int64_t ob = 0; ob < out_rows / kOutTile; ++ob)
    for (int64_t q = 0; q < pixels; q += kTilePixels) {
      const ForwardTile tile = kForwardTiles[std::min(kTilePixels, pixels - q) / kLanes - 1];
      tile(in + q, in_stride, channels, &offset, 1, packed + ob * channels * kOutTile,
           out + ob * kOutTile * out_stride + q, out_stride, nullptr);
    }
}

namespace {

// The wide grid's tiles stored straight into y[O, OH, OW] (AVX-512 builds only: masked stores).
[[maybe_unused]] void compute_into_planes(const DirectConvPlan& p, const float* xpad, const float* packed,
                                          float* y) {
  const int64_t weights_per_tile = p.in_channels * p.taps * kOutTile, plane = p.out_h * p.out_w;
  for (int64_t q = 0; q < p.wide_pixels; q += kTilePixels) {
    const ForwardTile tile = kForwardTiles[std::min(kTilePixels, p.wide_pixels - q) / kLanes - 1];
    for (int64_t ob = 0; ob < p.out_rows / kOutTile; ++ob) {
      const PlaneStore store{q, p.padded_w, p.out_w, p.out_h, std::min<int64_t>(kOutTile, p.out_channels - ob * kOutTile)};
      tile(xpad + q, p.plane_stride, p.in_channels, p.tap_offsets.data(), p.taps, packed + ob * weights_per_tile,
           y + ob * kOutTile * plane, plane, &store);
    }
  }
}

}  // namespace

void pack_direct_weights(const DirectConvPlan& p, const float* w, bool transpose_flip,
                         float* packed) {
  const int64_t C = p.in_channels, T = p.taps;
  if (transpose_flip) {  // w is [C', O'] = [c, o] of this plan
    pack_weights(
        p,
        [&](int64_t o, int64_t c, int64_t t) {
          return w[(c * p.out_channels + o) * T + (T - 1 - t)];
        },
        packed);
  } else {
    pack_weights(
        p, [&](int64_t o, int64_t c, int64_t t) { return w[(o * C + c) * T + t]; }, packed);
  }
}

void direct_conv_sample(const DirectConvPlan& p, const float* x, const float* packed, const float* bias,
                        float* y, float* scratch) {
  float* xpad = scratch;
  float* wide = scratch + p.in_channels * p.plane_stride;  // [out_rows, wide_pixels]
  pad_planes(p, x, xpad);
  // Without a bias the dense grid is y's layout, [O, OH*OW], and is written in place (1 -> 32
  // channels at 28x28, batch 128, 1 thread: 2.38 -> 1.35 ms). With one, a second pass over y to add it
  // costs what the copy saves.
  if (p.dense && !bias && p.out_rows == p.out_channels && p.wide_pixels == p.out_h * p.out_w)
    return compute_wide(p, xpad, packed, y);
#if defined(__AVX512F__) && defined(__AVX512DQ__)
  // Without a bias the tiles skip the wide buffer and its copy: masked stores put each row segment
  // where it belongs in y.
  if (!bias) return compute_into_planes(p, xpad, packed, y);
#endif
  compute_wide(p, xpad, packed, wide);
  for (int64_t o = 0; o < p.out_channels; ++o) {
    const float b = bias ? bias[o] : 0.0f;
    for (int64_t oh = 0; oh < p.out_h; ++oh) {
      const float* src = wide + o * p.wide_pixels + oh * p.padded_w;
      float* dst = y + (o * p.out_h + oh) * p.out_w;
      if (bias) {
        for (int64_t ow = 0; ow < p.out_w; ++ow) dst[ow] = src[ow] + b;
      } else {
        std::memcpy(dst, src, sizeof(float) * p.out_w);
      }
    }
  }
}

void direct_weight_grad_samples(const DirectConvPlan& p, const float* x, const float* dy, int64_t samples,
                                float* dw, float* scratch) {
  const int64_t C = p.in_channels, O = p.out_channels, T = p.taps;
  const int64_t xt_sample = channel_blocks(p) * p.plane_stride * kLanes;
  for (int64_t s = 0; s < samples; ++s)
    pad_channels_last(p, x + s * C * p.in_h * p.in_w, scratch + s * xt_sample);
  for (int64_t cb = 0; cb < channel_blocks(p); ++cb) {
    const int64_t channels = std::min<int64_t>(kLanes, C - cb * kLanes);
    // ceil(O / kGradOutTile) tiles of near-equal height (16 = 3+3+3+3+2+2), no narrow last tile.
    const int64_t tiles = (O + kGradOutTile - 1) / kGradOutTile;
    for (int64_t tile = 0; tile < tiles; ++tile) {
      const int64_t o = tile * (O / tiles) + std::min(tile, O % tiles);
      const int64_t ot = O / tiles + (tile < O % tiles ? 1 : 0);
      for (int64_t t = 0; t < T; t += kGradTapTile) {
        const int64_t tt = std::min<int64_t>(kGradTapTile, T - t);
        kGradTiles[ot - 1][tt - 1](p, scratch + cb * p.plane_stride * kLanes, xt_sample,
                                   dy + o * p.out_h * p.out_w, samples, p.tap_offsets.data() + t,
                                   channels, dw + (o * C + cb * kLanes) * T + t, C * T);
      }
    }
  }
}

}  // namespace frugal
