#include "ops/cpu/conv_direct.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <utility>

#include "ops/cpu/conv_simd.h"

namespace frugal {

namespace {

using simd::kLanes;
using simd::Vec;

// Register tiles. Forward: kOutTile output channels x kPixelTile vectors of pixels, accumulators plus one
// vector per pixel column plus a broadcast weight fill the register file. Weight gradient: kGradOutTile
// output channels x kGradTapTile taps, each accumulator a vector of kLanes input channels.
#if defined(__AVX512F__) && defined(__AVX512DQ__)
constexpr int kOutTile = 8, kPixelTile = 3, kGradOutTile = 3, kGradTapTile = 9;
#elif defined(__AVX2__) && defined(__FMA__)
constexpr int kOutTile = 4, kPixelTile = 2, kGradOutTile = 1, kGradTapTile = 9;
#else
constexpr int kOutTile = 4, kPixelTile = 4, kGradOutTile = 2, kGradTapTile = 9;
#endif
constexpr int64_t kTilePixels = int64_t{kPixelTile} * kLanes;
// Output pixels the weight gradient sums in registers (over several samples when they are small) before
// adding its accumulators to dw.
constexpr int64_t kGradPixels = 1024;

int64_t round_up(int64_t v, int64_t multiple) { return (v + multiple - 1) / multiple * multiple; }

DirectConvPlan make_plan(int64_t in_channels, int64_t out_channels, int64_t in_h, int64_t in_w,
                         int64_t kernel_h, int64_t kernel_w, int64_t pad_h, int64_t pad_w,
                         int64_t dilation_h, int64_t dilation_w) {
  DirectConvPlan p;
  p.in_channels = in_channels;
  p.out_channels = out_channels;
  p.taps = kernel_h * kernel_w;
  p.in_h = in_h;
  p.in_w = in_w;
  p.pad_h = pad_h;
  p.pad_w = pad_w;
  p.padded_w = in_w + 2 * pad_w;
  const int64_t padded_h = in_h + 2 * pad_h;
  p.out_h = padded_h - dilation_h * (kernel_h - 1);
  p.out_w = p.padded_w - dilation_w * (kernel_w - 1);
  p.wide_pixels = round_up(p.out_h * p.padded_w, kTilePixels);
  for (int64_t kh = 0; kh < kernel_h; ++kh)
    for (int64_t kw = 0; kw < kernel_w; ++kw)
      p.tap_offsets.push_back(kh * dilation_h * p.padded_w + kw * dilation_w);
  // The last tile reads up to wide_pixels - 1 + the largest tap offset.
  p.plane_stride = round_up(std::max(padded_h * p.padded_w, p.wide_pixels + p.tap_offsets.back()), kLanes);
  p.out_rows = round_up(out_channels, kOutTile);
  p.padded_pixels = padded_h * p.padded_w;
  p.grad_samples = std::clamp<int64_t>(kGradPixels / (p.out_h * p.out_w), 1, 16);
  return p;
}

// The wide grid computes Wp - OW discarded columns per row and rounds up to whole tiles; past this
// factor over the real output pixels (small images), im2col + sgemm is faster.
constexpr double kMaxWideGridOverhead = 1.6;

bool wide_grid_pays(const DirectConvPlan& p) {
  return p.wide_pixels <= kMaxWideGridOverhead * p.out_h * p.out_w;
}

// xpad[c] = x[c] surrounded by pad_h rows and pad_w columns of zeros, then zeros up to plane_stride.
void pad_planes(const DirectConvPlan& p, const float* x, float* xpad) {
  const int64_t wp = p.padded_w;
  for (int64_t c = 0; c < p.in_channels; ++c) {
    const float* src = x + c * p.in_h * p.in_w;
    float* dst = xpad + c * p.plane_stride;
    std::memset(dst, 0, sizeof(float) * (p.pad_h * wp + p.pad_w));
    float* row = dst + p.pad_h * wp + p.pad_w;
    for (int64_t h = 0; h < p.in_h; ++h, row += wp) {
      std::memcpy(row, src + h * p.in_w, sizeof(float) * p.in_w);
      if (h + 1 < p.in_h) std::memset(row + p.in_w, 0, sizeof(float) * 2 * p.pad_w);
    }
    float* end = dst + p.plane_stride;
    float* tail = row - wp + p.in_w;  // just past the last input row
    std::memset(tail, 0, sizeof(float) * (end - tail));
  }
}

// out[o][q + j] = sum over c, t of packed[c][t][o] * in[c][q + j + tap_offset[t]] for the tile of
// kOutTile channels and kTilePixels pixels starting at q (in and out already point at q).
void forward_tile(const float* in, int64_t plane_stride, int64_t channels, const int64_t* offsets,
                  int64_t taps, const float* packed, float* out, int64_t out_stride) {
  Vec acc[kOutTile][kPixelTile];
  for (auto& row : acc)
    for (Vec& a : row) a = simd::zero();
  for (int64_t c = 0; c < channels; ++c) {
    const float* plane = in + c * plane_stride;
    for (int64_t t = 0; t < taps; ++t, packed += kOutTile) {
      const float* src = plane + offsets[t];
      Vec v[kPixelTile];
      for (int j = 0; j < kPixelTile; ++j) v[j] = simd::load(src + j * kLanes);
      for (int o = 0; o < kOutTile; ++o) {
        const Vec w = simd::broadcast(packed + o);
        for (int j = 0; j < kPixelTile; ++j) acc[o][j] = simd::fma(w, v[j], acc[o][j]);
      }
    }
  }
  for (int o = 0; o < kOutTile; ++o)
    for (int j = 0; j < kPixelTile; ++j) simd::store(out + o * out_stride + j * kLanes, acc[o][j]);
}

// Channels-last padded planes for the weight gradient: xt[c / kLanes][pixel][c % kLanes], zero in the
// padding and in the lanes past in_channels, so one aligned vector holds a pixel of kLanes channels.
int64_t channel_blocks(const DirectConvPlan& p) { return (p.in_channels + kLanes - 1) / kLanes; }

void pad_channels_last(const DirectConvPlan& p, const float* x, float* xt) {
  const int64_t plane = p.in_h * p.in_w;
  for (int64_t cb = 0; cb < channel_blocks(p); ++cb) {
    const int64_t channels = std::min<int64_t>(kLanes, p.in_channels - cb * kLanes);
    const float* planes = x + cb * kLanes * plane;
    float* block = xt + cb * p.padded_pixels * kLanes;
    float* row = block + p.pad_h * p.padded_w * kLanes;  // first input row
    std::memset(block, 0, sizeof(float) * (p.pad_h * p.padded_w + p.pad_w) * kLanes);
    for (int64_t h = 0; h < p.in_h; ++h, row += p.padded_w * kLanes) {
      float* pixel = row + p.pad_w * kLanes;
      for (int64_t w = 0; w < p.in_w; ++w, pixel += kLanes) {  // one pixel's channels, one vector
        const float* source = planes + h * p.in_w + w;
        for (int64_t l = 0; l < channels; ++l) pixel[l] = source[l * plane];
        for (int64_t l = channels; l < kLanes; ++l) pixel[l] = 0.0f;
      }
      std::memset(pixel, 0, sizeof(float) * 2 * p.pad_w * kLanes);  // right padding, next row's left
    }
    float* end = block + p.padded_pixels * kLanes;
    float* tail = row - p.pad_w * kLanes;
    std::memset(tail, 0, sizeof(float) * (end - tail));
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
  return g.stride_h == 1 && g.stride_w == 1 && g.groups == 1 && wide_grid_pays(direct_forward_plan(g));
}

DirectConvPlan direct_forward_plan(const Conv2dGeometry& g) {
  return make_plan(g.in_channels, g.out_channels, g.in_h, g.in_w, g.kernel_h, g.kernel_w, g.pad_h,
                   g.pad_w, g.dilation_h, g.dilation_w);
}

bool direct_backward_data_applies(const Conv2dGeometry& g) {
  return g.stride_h == 1 && g.stride_w == 1 && g.groups == 1 &&
         g.pad_h <= g.dilation_h * (g.kernel_h - 1) && g.pad_w <= g.dilation_w * (g.kernel_w - 1) &&
         g.in_channels >= kOutTile && wide_grid_pays(direct_backward_data_plan(g));
}

DirectConvPlan direct_backward_data_plan(const Conv2dGeometry& g) {
  return make_plan(g.out_channels, g.in_channels, g.out_h(), g.out_w(), g.kernel_h, g.kernel_w,
                   g.dilation_h * (g.kernel_h - 1) - g.pad_h, g.dilation_w * (g.kernel_w - 1) - g.pad_w,
                   g.dilation_h, g.dilation_w);
}

bool direct_weight_grad_applies(const Conv2dGeometry& g) {
  return g.stride_h == 1 && g.stride_w == 1 && g.groups == 1 && g.in_channels >= kLanes;
}

size_t direct_packed_weight_floats(const DirectConvPlan& p) {
  return static_cast<size_t>(p.out_rows * p.in_channels * p.taps);
}

size_t direct_conv_scratch_floats(const DirectConvPlan& p) {
  return static_cast<size_t>(p.in_channels * p.plane_stride + p.out_rows * p.wide_pixels);
}

size_t direct_weight_grad_scratch_floats(const DirectConvPlan& p) {
  return static_cast<size_t>(p.grad_samples * channel_blocks(p) * p.padded_pixels * kLanes);
}

void pack_direct_weights(const DirectConvPlan& p, const float* w, bool transpose_flip, float* packed) {
  // packed[o / kOutTile][c][t][o % kOutTile], zero for the rows past out_channels.
  const int64_t C = p.in_channels, T = p.taps;
  for (int64_t o = 0; o < p.out_rows; ++o)
    for (int64_t c = 0; c < C; ++c)
      for (int64_t t = 0; t < T; ++t) {
        float v = 0.0f;
        if (o < p.out_channels)  // transposed: w is [C', O'] = [c, o] of this plan
          v = transpose_flip ? w[(c * p.out_channels + o) * T + (T - 1 - t)] : w[(o * C + c) * T + t];
        packed[((o / kOutTile * C + c) * T + t) * kOutTile + o % kOutTile] = v;
      }
}

void direct_conv_sample(const DirectConvPlan& p, const float* x, const float* packed, const float* bias,
                        float* y, float* scratch) {
  float* xpad = scratch;
  float* wide = scratch + p.in_channels * p.plane_stride;  // [out_rows, wide_pixels]
  pad_planes(p, x, xpad);
  const int64_t weights_per_tile = p.in_channels * p.taps * kOutTile;
  for (int64_t q = 0; q < p.wide_pixels; q += kTilePixels)
    for (int64_t ob = 0; ob < p.out_rows / kOutTile; ++ob)
      forward_tile(xpad + q, p.plane_stride, p.in_channels, p.tap_offsets.data(), p.taps,
                   packed + ob * weights_per_tile, wide + ob * kOutTile * p.wide_pixels + q,
                   p.wide_pixels);
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
  const int64_t xt_sample = channel_blocks(p) * p.padded_pixels * kLanes;
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
        kGradTiles[ot - 1][tt - 1](p, scratch + cb * p.padded_pixels * kLanes, xt_sample,
                                   dy + o * p.out_h * p.out_w, samples, p.tap_offsets.data() + t,
                                   channels, dw + (o * C + cb * kLanes) * T + t, C * T);
      }
    }
  }
}

}  // namespace frugal
