// Pieces of the Winograd F(2x2, 3x3) kernels shared by the forward/backward-data pass
// (conv_winograd.cpp) and the weight gradient (conv_winograd_weight.cpp). Not for use elsewhere.
#pragma once
#include <algorithm>
#include <cstdint>

#include "ops/cpu/conv_direct_parts.h"

namespace frugal::winograd_detail {

// The stride between the 16 planes of transformed values, which the transforms read or write 16 at a
// time: a multiple of 1 KiB (256 floats) would put several of them in the same L1 sets (addresses 4 KiB
// apart share a set), and 16 streams in one 12-way set evict each other; one vector more spreads them.
// (ResNet-18's 64-channel dY transform: 2.9 ms a pass at 32 KiB apart.)
inline int64_t spread_stride(int64_t floats) { return floats % 256 == 0 ? floats + 16 : floats; }

#if defined(__AVX512F__) && defined(__AVX512DQ__)
inline __mmask16 first_lanes(int64_t n) { return static_cast<__mmask16>(n >= 16 ? 0xFFFF : (1u << n) - 1); }

// d[j] = row[2(tx + l) - 1 + j] over lanes l (zero outside [0, w)) for the 16 tiles from tx: the even
// and odd columns of 32 loaded, and the neighbours one column either side by a lane shift.
inline void gather_columns16(const float* row, int64_t w, int64_t tx, __m512 d[4]) {
  const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
  const __m512i odd = _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
  const int64_t col = 2 * tx;  // tile tx's column 1
  const __m512 a = _mm512_maskz_loadu_ps(first_lanes(std::max<int64_t>(0, w - col)), row + col);
  const __m512 b = _mm512_maskz_loadu_ps(first_lanes(std::max<int64_t>(0, w - col - 16)), row + col + 16);
  d[1] = _mm512_permutex2var_ps(a, even, b);
  d[2] = _mm512_permutex2var_ps(a, odd, b);
  const float before = col > 0 ? row[col - 1] : 0.0f, after = col + 32 < w ? row[col + 32] : 0.0f;
  d[0] = _mm512_castsi512_ps(
      _mm512_maskz_alignr_epi32(0xFFFF, _mm512_castps_si512(d[2]), _mm512_castps_si512(_mm512_set1_ps(before)), 15));
  d[3] = _mm512_castsi512_ps(
      _mm512_maskz_alignr_epi32(0xFFFF, _mm512_castps_si512(_mm512_set1_ps(after)), _mm512_castps_si512(d[1]), 1));
}

// d0..d3[tx] = row[2tx - 1 + j] (zero outside [0, w)) for tx < tw.
inline void gather_row_columns(const float* row, int64_t w, int64_t tw, float* d0, float* d1, float* d2, float* d3) {
  for (int64_t tx = 0; tx < tw; tx += 16) {
    __m512 d[4];
    gather_columns16(row, w, tx, d);
    const __mmask16 keep = first_lanes(tw - tx);
    _mm512_mask_storeu_ps(d0 + tx, keep, d[0]);
    _mm512_mask_storeu_ps(d1 + tx, keep, d[1]);
    _mm512_mask_storeu_ps(d2 + tx, keep, d[2]);
    _mm512_mask_storeu_ps(d3 + tx, keep, d[3]);
  }
}

// out[2l] = left[l], out[2l + 1] = right[l] for the first n (<= 32) of those columns.
inline void store_interleaved(__m512 left, __m512 right, int64_t n, float* out) {
  const __m512i lo = _mm512_setr_epi32(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
  const __m512i hi = _mm512_setr_epi32(8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
  _mm512_mask_storeu_ps(out, first_lanes(n), _mm512_permutex2var_ps(left, lo, right));
  if (n > 16) _mm512_mask_storeu_ps(out + 16, first_lanes(n - 16), _mm512_permutex2var_ps(left, hi, right));
}

// out[2tx] = left[tx], out[2tx + 1] = right[tx] for the n = w columns of one output row.
inline void interleave_columns(const float* left, const float* right, int64_t n, float* out) {
  for (int64_t col = 0; col < n; col += 32) {
    const __mmask16 tiles = first_lanes((n - col + 1) / 2);
    store_interleaved(_mm512_maskz_loadu_ps(tiles, left + col / 2), _mm512_maskz_loadu_ps(tiles, right + col / 2),
                      std::min<int64_t>(32, n - col), out + col);
  }
}
#else
inline void gather_row_columns(const float* row, int64_t w, int64_t tw, float* d0, float* d1, float* d2, float* d3) {
  // Input column 2tx - 1 + j; only j = 0 at tx = 0 and j >= 2 at the last tile can fall outside.
  d0[0] = 0.0f;
  for (int64_t tx = 1; tx < tw; ++tx) d0[tx] = row[2 * tx - 1];
  for (int64_t tx = 0; tx < tw; ++tx) d1[tx] = row[2 * tx];
  for (int64_t tx = 0; tx < tw - 1; ++tx) d2[tx] = row[2 * tx + 1];
  d2[tw - 1] = 2 * tw - 1 < w ? row[2 * tw - 1] : 0.0f;
  for (int64_t tx = 0; tx < tw - 1; ++tx) d3[tx] = row[2 * tx + 2];
  d3[tw - 1] = 0.0f;
}

inline void interleave_columns(const float* left, const float* right, int64_t n, float* out) {
  for (int64_t tx = 0; tx < n / 2; ++tx) {
    out[2 * tx] = left[tx];
    out[2 * tx + 1] = right[tx];
  }
  if (n % 2) out[n - 1] = left[n / 2];  // odd width: the last tile's left column only
}
#endif

}  // namespace frugal::winograd_detail
