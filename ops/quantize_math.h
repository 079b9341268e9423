// The arithmetic of the K-bit quantized-activation kernels (ops/cpu/quantize_cpu.h) per value, per
// channel and per group of 8 codes, for the CUDA kernels (ops/cuda/quantize_cuda.cu) and the CPU tests
// that hold it against the CPU kernels bit for bit. Tensors are [N, C, S]; grid is [3, C]
// (ops/packed_codes.h); codes are packed as ops/bitpack_math.h lays them out.
#pragma once
#include <cmath>
#include <cstdint>

#include "core/host_device.h"
#include "ops/bitpack_math.h"
#include "ops/hd_float.h"
#include "ops/packed_codes.h"

namespace frugal::quant {

// ---- Channel statistics ----

// The terms one element adds to its channel's sums: d = x - shift and d^2 (shift = the channel's first
// value, so the variance does not cancel when |mean| >> std).
FRUGAL_HD inline double shifted(float x, double shift) { return hd::sub_rn(static_cast<double>(x), shift); }
FRUGAL_HD inline double add_square(double sum_sq, double d) { return hd::add_rn(sum_sq, hd::mul_rn(d, d)); }

// The CUDA kernel sums a channel in kStatThreads fixed lanes (element k of the channel's N*S values goes
// to lane k % kStatThreads) combined by a fixed pairwise tree: the same bits on every run, within
// double rounding of the CPU's lane order. One block per channel, so the lanes are many to keep enough
// loads in flight on the few SMs a layer with few channels gets.
constexpr int kStatThreads = 1024;  // a power of two: the tree halves it

struct ShiftedSums {  // an aggregate, so a kernel can keep an array of them in shared memory
  double sum, sum_sq;
};

// One lane's share of channel ch of y [N, C, S]: its elements k = lane, lane + kStatThreads, ... of
// the channel, k = i * S + j being element j of sample i's plane.
FRUGAL_HD inline ShiftedSums lane_sums(int64_t n, int64_t c, int64_t s, int64_t ch, const float* y, double shift,
                                       int lane) {
  ShiftedSums acc{0.0, 0.0};
  const int64_t m = n * s;
  int64_t k = lane, i = k / s, j = k - i * s;
  for (; k < m; k += kStatThreads) {
    const double d = shifted(y[(i * c + ch) * s + j], shift);
    acc.sum = hd::add_rn(acc.sum, d);
    acc.sum_sq = add_square(acc.sum_sq, d);
    if (s >= kStatThreads) {  // the next element is at most one plane on: no division
      j += kStatThreads;
      if (j >= s) j -= s, ++i;
    } else {
      i = (k + kStatThreads) / s;
      j = k + kStatThreads - i * s;
    }
  }
  return acc;
}

// One level of the pairwise tree over the lanes: after the levels width = kStatThreads/2, ..., 1,
// lanes[0] holds the channel's sums.
FRUGAL_HD inline void tree_level(ShiftedSums* lanes, int width, int lane) {
  if (lane < width) {
    lanes[lane].sum = hd::add_rn(lanes[lane].sum, lanes[lane + width].sum);
    lanes[lane].sum_sq = hd::add_rn(lanes[lane].sum_sq, lanes[lane + width].sum_sq);
  }
}

// Mean and biased std of a channel of m values from sum(d) and sum(d^2) (ops/cpu/channel_sums.h);
// 0 and 0 for an empty channel.
FRUGAL_HD inline void mean_std_from_sums(double shift, double sum, double sum_sq, double m, float* mean, float* std) {
  if (m == 0) {
    *mean = *std = 0.0f;
    return;
  }
  const double mean_shifted = sum / m;
  double sum_sq_dev = hd::sub_rn(sum_sq, hd::mul_rn(hd::mul_rn(mean_shifted, mean_shifted), m));
  sum_sq_dev = sum_sq_dev < 0.0 ? 0.0 : sum_sq_dev;  // rounding can dip below 0; NaN stays
  *mean = static_cast<float>(hd::add_rn(shift, mean_shifted));
  *std = static_cast<float>(sqrt(sum_sq_dev / m));
}

// The mean and std of a BatchNorm output y = gamma x̂ + beta: beta and |gamma| sqrt(1 - eps invstd^2),
// in double, clamped at 0.
FRUGAL_HD inline void batchnorm_output_mean_std(float gamma, float beta, float invstd, float eps, float* mean,
                                                float* std) {
  const double shrink = hd::sub_rn(
      1.0, hd::mul_rn(hd::mul_rn(static_cast<double>(eps), static_cast<double>(invstd)), static_cast<double>(invstd)));
  *mean = beta;
  *std = static_cast<float>(hd::mul_rn(static_cast<double>(fabsf(gamma)), sqrt(hd::max_of(shrink, 0.0))));
}

// ---- The grid of one channel (quantize_cpu.h: relu_grid_cpu), in double ----

struct GridRow {
  float offset, step, shift;
};

FRUGAL_HD inline GridRow relu_grid_row(float mean, float std, int bits) {
  const int levels = 1 << bits;
  const double mu = hd::is_finite(mean) ? static_cast<double>(mean) : 0.0;
  // A constant channel still needs bins of positive width.
  const double floor_sd = hd::max_of(hd::mul_rn(1e-6, fabs(mu)), 1e-12);
  const double sd = std >= floor_sd && hd::is_finite(std) ? static_cast<double>(std) : floor_sd;
  const double lo = hd::sub_rn(mu, hd::mul_rn(3.0, sd));
  double step, offset;
  int shift;
  if (lo >= 0.0) {  // all positive: code 0 is reserved for y <= 0
    step = hd::mul_rn(6.0, sd) / (levels - 1);
    shift = 1;
    offset = hd::sub_rn(lo, step);
  } else if (hd::add_rn(mu, hd::mul_rn(3.0, sd)) <= 0.0) {  // all negative: code n-1 is reserved for y > 0
    step = hd::mul_rn(6.0, sd) / (levels - 1);
    shift = levels - 1;
    offset = lo;
  } else {  // 0 inside the window: the lowest edge at or just below lo, 0 on an edge
    step = hd::mul_rn(6.0, sd) / levels;
    const double below = ceil(-lo / step);  // bins below 0
    shift = static_cast<int>(hd::min_of<double>(hd::max_of(below, 1.0), levels - 1));
    offset = hd::mul_rn(static_cast<double>(-shift), step);
  }
  return {static_cast<float>(offset), static_cast<float>(step), static_cast<float>(shift)};
}

// ---- Codes of one value ----

struct ChannelGrid {
  float offset, step, inv_step, t_max;  // t_max = n, one past the highest code
  int32_t shift, top;                   // top = n - 1, the highest code
};

FRUGAL_HD inline ChannelGrid channel_grid(const float* grid, int64_t c, int64_t ch, int bits) {
  const float step = grid[kGridStep * c + ch];
  const float top = static_cast<float>((1 << bits) - 1);
  return {grid[kGridOffset * c + ch], step, 1.0f / step, top + 1.0f, static_cast<int32_t>(grid[kGridShift * c + ch]),
          static_cast<int32_t>(top)};
}

// The code of v: its bin, clamped to the codes of its side of 0 (v > 0 exactly when its bits as an
// int32 are > 0), so the ReLU mask [v > 0] == [q >= shift] is exact. NaN gets a code of its sign bit's
// side.
FRUGAL_HD inline uint32_t code_of(float v, const ChannelGrid& g) {
  const int32_t positive = hd::float_bits(v) > 0;
  const float t = hd::max_of(-1.0f, hd::min_of(hd::mul_rn(hd::sub_rn(v, g.offset), g.inv_step), g.t_max));
  const int32_t lowest = positive * g.shift, highest = g.shift - 1 + positive * (g.top - g.shift + 1);
  return static_cast<uint32_t>(hd::min_of(hd::max_of(static_cast<int32_t>(t), lowest), highest));
}

FRUGAL_HD inline bool positive_code(uint32_t q, int32_t shift) { return static_cast<int32_t>(q) >= shift; }

// The centre of bin q, with the sign the code stands for.
FRUGAL_HD inline float signed_centre(uint32_t q, const ChannelGrid& g) {
  const float v = hd::add_rn(g.offset, hd::mul_rn(static_cast<float>(q) + 0.5f, g.step));
  return positive_code(q, g.shift) ? hd::max_of(v, 0.0f) : hd::min_of(v, 0.0f);
}

// ReLU of the reconstruction: the (non-negative) centre where q >= shift, +0 elsewhere.
FRUGAL_HD inline float relu_value(uint32_t q, const ChannelGrid& g) {
  const float v = hd::max_of(hd::add_rn(g.offset, hd::mul_rn(static_cast<float>(q) + 0.5f, g.step)), 0.0f);
  return positive_code(q, g.shift) ? v : 0.0f;
}

// 1 / gamma, or 0 where gamma == 0 (y carries no information about x̂ there).
FRUGAL_HD inline float inverse_gamma(float gamma) { return gamma != 0.0f ? 1.0f / gamma : 0.0f; }

// x̃ = (ỹ - beta) / gamma for a code of a BatchNorm output.
FRUGAL_HD inline float normalized_value(uint32_t q, const ChannelGrid& g, float beta, float inv_gamma) {
  return hd::mul_rn(hd::sub_rn(signed_centre(q, g), beta), inv_gamma);
}

// ---- Groups of 8 codes: the work of one CUDA thread ----

// The channel of element e of an [N, C, S] tensor, walked forward one element at a time without a
// division per element.
struct ChannelWalk {
  int64_t ch, within, c, s;
  FRUGAL_HD ChannelWalk(int64_t e, int64_t c_, int64_t s_) : c(c_), s(s_) {
    const int64_t plane = e / s;
    ch = plane % c;
    within = e - plane * s;
  }
  FRUGAL_HD void next() {
    if (++within == s) {
      within = 0;
      if (++ch == c) ch = 0;
    }
  }
};

// Quantizes the values of group g of y [n*c*s] into its bytes of packed.
FRUGAL_HD inline void quantize_group(int64_t n, int64_t c, int64_t s, int64_t group, const float* y, const float* grid,
                                     int bits, uint8_t* packed) {
  const int64_t total = n * c * s, first = group * bitpack::kGroupCodes;
  const int count = bitpack::codes_in_group(total, group);
  ChannelWalk walk(first, c, s);
  int64_t current = -1;
  ChannelGrid g{};
  uint64_t word = 0;
  for (int j = 0; j < count; ++j, walk.next()) {
    if (walk.ch != current) g = channel_grid(grid, c, current = walk.ch, bits);
    word = bitpack::with_code(word, j, bits, code_of(y[first + j], g));
  }
  bitpack::store_group(word, bitpack::group_bytes(count, bits), packed + group * bits);
}

// Calls fn(j, element, channel, code) for each code of group g of the stream packed[n*c*s].
template <class Fn>
FRUGAL_HD inline void for_each_code_of_group(int64_t n, int64_t c, int64_t s, int64_t group, const uint8_t* packed,
                                             int bits, Fn&& fn) {
  const int64_t total = n * c * s, first = group * bitpack::kGroupCodes;
  const int count = bitpack::codes_in_group(total, group);
  const uint64_t word = bitpack::load_group(packed + group * bits, bitpack::group_bytes(count, bits));
  ChannelWalk walk(first, c, s);
  for (int j = 0; j < count; ++j, walk.next()) fn(first + j, walk.ch, bitpack::code_at(word, j, bits));
}

FRUGAL_HD inline void dequantize_relu_group(int64_t n, int64_t c, int64_t s, int64_t group, const uint8_t* packed,
                                            const float* grid, int bits, float* h) {
  int64_t current = -1;
  ChannelGrid g{};
  for_each_code_of_group(n, c, s, group, packed, bits, [&](int64_t e, int64_t ch, uint32_t q) {
    if (ch != current) g = channel_grid(grid, c, current = ch, bits);
    h[e] = relu_value(q, g);
  });
}

FRUGAL_HD inline void dequantize_normalized_group(int64_t n, int64_t c, int64_t s, int64_t group, const uint8_t* packed,
                                                  const float* grid, int bits, const float* gamma, const float* beta,
                                                  float* xhat) {
  int64_t current = -1;
  ChannelGrid g{};
  float b = 0.0f, inv_gamma = 0.0f;
  for_each_code_of_group(n, c, s, group, packed, bits, [&](int64_t e, int64_t ch, uint32_t q) {
    if (ch != current) {
      g = channel_grid(grid, c, current = ch, bits);
      b = beta[ch];
      inv_gamma = inverse_gamma(gamma[ch]);
    }
    xhat[e] = normalized_value(q, g, b, inv_gamma);
  });
}

// dx = dy where the code stands for y > 0, +0 elsewhere; dx may alias dy.
FRUGAL_HD inline void relu_backward_group(int64_t n, int64_t c, int64_t s, int64_t group, const uint8_t* packed,
                                          const float* grid, int bits, const float* dy, float* dx) {
  for_each_code_of_group(n, c, s, group, packed, bits, [&](int64_t e, int64_t ch, uint32_t q) {
    dx[e] = positive_code(q, static_cast<int32_t>(grid[kGridShift * c + ch])) ? dy[e] : 0.0f;
  });
}

}  // namespace frugal::quant
