// Pieces of the direct conv kernels (conv_direct.cpp) that the strided backward-data pass
// (conv_direct_strided.cpp) reuses: register tile sizes, the polyphase index arithmetic, padding
// planes, packing weights and running the forward tiles over a wide grid. Not for use outside those
// two files.
#pragma once
#include <algorithm>
#include <cstdint>

#include "ops/cpu/conv_direct.h"
#include "ops/cpu/conv_simd.h"

namespace frugal::direct_detail {

using simd::kLanes;

// Register tiles. Forward: kOutTile output channels x kPixelTile vectors of pixels, accumulators
// plus one vector per pixel column plus a broadcast weight fill the register file. Weight gradient:
// kGradOutTile output channels x kGradTapTile taps, each accumulator a vector of kLanes input
// channels.
#if defined(__AVX512F__) && defined(__AVX512DQ__)
constexpr int kOutTile = 8, kPixelTile = 3, kGradOutTile = 3, kGradTapTile = 9;
#elif defined(__AVX2__) && defined(__FMA__)
constexpr int kOutTile = 4, kPixelTile = 2, kGradOutTile = 1, kGradTapTile = 9;
#else
constexpr int kOutTile = 4, kPixelTile = 4, kGradOutTile = 2, kGradTapTile = 9;
#endif
constexpr int64_t kTilePixels = int64_t{kPixelTile} * kLanes;

inline int64_t round_up(int64_t v, int64_t multiple) {
  return (v + multiple - 1) / multiple * multiple;
}

// Where tap offset k*dil lands after a polyphase split by `stride`: phase k*dil % stride, shifted
// by k*dil / stride rows (or columns) of that phase.
struct TapPhase {
  int64_t phase, shift;
};
inline TapPhase tap_phase(int64_t k, int64_t dilation, int64_t stride) {
  return {k * dilation % stride, k * dilation / stride};
}

// The wide grid computes Wp - OW discarded columns per row and rounds up to whole tiles; past this
// factor over the real output pixels (small images), im2col + sgemm is faster.
constexpr double kMaxWideGridOverhead = 1.6;

// Phase rows (or columns) [begin, end) of `count` whose padded input index stride*i + phase lies
// inside the unpadded input [pad, pad + size).
struct Span {
  int64_t begin, end;
};
inline Span inside_input(int64_t size, int64_t pad, int64_t stride, int64_t phase, int64_t count) {
  auto first_at_least = [&](int64_t index) {  // smallest i with stride*i + phase >= index
    return std::clamp<int64_t>((index - phase + stride - 1) / stride, 0, count);
  };
  const int64_t begin = first_at_least(pad);
  return {begin, std::max(begin, first_at_least(pad + size))};
}

// xpad[c][phase] = the phase's pixels of x[c] padded with zeros, then zeros up to phase_stride.
void pad_planes(const DirectConvPlan& p, const float* x, float* xpad);

// packed[o / kOutTile][c][t][o % kOutTile] = weight(o, c, t) for the plan's output channel o, input
// channel c and tap t; zero for the rows past out_channels.
template <class Weight>
void pack_weights(const DirectConvPlan& p, const Weight& weight, float* packed) {
  const int64_t C = p.in_channels, T = p.taps;
  for (int64_t o = 0; o < p.out_rows; ++o)
    for (int64_t c = 0; c < C; ++c)
      for (int64_t t = 0; t < T; ++t)
        packed[((o / kOutTile * C + c) * T + t) * kOutTile + o % kOutTile] =
            o < p.out_channels ? weight(o, c, t) : 0.0f;
}

#if defined(__AVX512F__) && defined(__AVX512DQ__)
// The shuffles below through their zero-masked forms with every lane kept (the same instructions):
// GCC 12's plain forms pass an undefined register that -Wmaybe-uninitialized reports.
inline constexpr __mmask16 kAll = 0xFFFF;
inline __m512 unpacklo(__m512 a, __m512 b) { return _mm512_maskz_unpacklo_ps(kAll, a, b); }
inline __m512 unpackhi(__m512 a, __m512 b) { return _mm512_maskz_unpackhi_ps(kAll, a, b); }
#define FRUGAL_SHUFFLE_PS(a, b, imm) _mm512_maskz_shuffle_ps(kAll, a, b, imm)
#define FRUGAL_SHUFFLE_LANES(a, b, imm) _mm512_maskz_shuffle_f32x4(kAll, a, b, imm)

// r[i][j] -> r[j][i] for a 16x16 block in registers: pairs of rows interleaved, then 4x4 blocks within
// each 128-bit lane, then the lanes across rows.
inline void transpose_16x16(__m512 r[16]) {
  __m512 t[16];
  for (int i = 0; i < 8; ++i) {
    t[2 * i] = unpacklo(r[2 * i], r[2 * i + 1]);
    t[2 * i + 1] = unpackhi(r[2 * i], r[2 * i + 1]);
  }
  for (int i = 0; i < 4; ++i) {  // r[4i + m], lane L: column 4L + m of rows 4i..4i+3
    r[4 * i] = FRUGAL_SHUFFLE_PS(t[4 * i], t[4 * i + 2], _MM_SHUFFLE(1, 0, 1, 0));
    r[4 * i + 1] = FRUGAL_SHUFFLE_PS(t[4 * i], t[4 * i + 2], _MM_SHUFFLE(3, 2, 3, 2));
    r[4 * i + 2] = FRUGAL_SHUFFLE_PS(t[4 * i + 1], t[4 * i + 3], _MM_SHUFFLE(1, 0, 1, 0));
    r[4 * i + 3] = FRUGAL_SHUFFLE_PS(t[4 * i + 1], t[4 * i + 3], _MM_SHUFFLE(3, 2, 3, 2));
  }
  for (int m = 0; m < 4; ++m) {  // a 4x4 transpose of 128-bit lanes over r[m], r[4+m], r[8+m], r[12+m]
    t[m] = FRUGAL_SHUFFLE_LANES(r[m], r[4 + m], 0x88);
    t[4 + m] = FRUGAL_SHUFFLE_LANES(r[m], r[4 + m], 0xdd);
    t[8 + m] = FRUGAL_SHUFFLE_LANES(r[8 + m], r[12 + m], 0x88);
    t[12 + m] = FRUGAL_SHUFFLE_LANES(r[8 + m], r[12 + m], 0xdd);
  }
  for (int m = 0; m < 4; ++m) {
    r[m] = FRUGAL_SHUFFLE_LANES(t[m], t[8 + m], 0x88);
    r[8 + m] = FRUGAL_SHUFFLE_LANES(t[m], t[8 + m], 0xdd);
    r[4 + m] = FRUGAL_SHUFFLE_LANES(t[4 + m], t[12 + m], 0x88);
    r[12 + m] = FRUGAL_SHUFFLE_LANES(t[4 + m], t[12 + m], 0xdd);
  }
}
#undef FRUGAL_SHUFFLE_PS
#undef FRUGAL_SHUFFLE_LANES
#endif

// wide[out_rows, wide_pixels] = the plan's taps over the padded planes xpad, tile by tile.
void compute_wide(const DirectConvPlan& p, const float* xpad, const float* packed, float* wide);

// out[o][j] = sum over c of packed[o / kOutTile][c][o % kOutTile] * in[c][j] (rows in_stride and
// out_stride apart) for o < out_rows (a multiple of kOutTile) and j < pixels (a multiple of kLanes):
// one GEMM through the forward tiles (a 1x1 convolution), the packed block of kOutTile output rows
// held in L1 while the tiles sweep the pixels. Winograd's 16 products (conv_winograd.cpp).
void gemm_tiles(const float* in, int64_t in_stride, int64_t channels, const float* packed, int64_t out_rows,
                int64_t pixels, float* out, int64_t out_stride);

}  // namespace frugal::direct_detail
