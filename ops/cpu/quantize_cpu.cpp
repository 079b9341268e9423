#include "ops/cpu/quantize_cpu.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>

#include "core/error.h"
#include "ops/cpu/bitpack.h"
#include "ops/cpu/channel_sums.h"

namespace frugal {
namespace {

// Codes per work item: a multiple of 8, so every chunk starts on a byte of the packed stream for any
// bit width; small enough to unpack into a stack buffer.
constexpr int64_t kChunk = 4096;
// Below this many elements the OpenMP fork costs more than it saves.
constexpr int64_t kParallelMinElements = 1 << 15;

void check_bits(int bits, const char* fn) {
  FRUGAL_CHECK(bits >= 2 && bits <= 8, InternalError,
               std::string(fn) + ": bits must be in 2..8, got " + std::to_string(bits));
}

struct ChannelGrid {
  float offset, step, inv_step, shift, top;  // top = n - 1, the highest code
};

ChannelGrid grid_of(const float* grid, int64_t c, int64_t ch, int bits) {
  const float step = grid[kGridStep * c + ch];
  return {grid[kGridOffset * c + ch], step, 1.0f / step, grid[kGridShift * c + ch],
          static_cast<float>((1 << bits) - 1)};
}

// The decoders below are branch-free so they vectorise (which side of 0 a code is on is as
// unpredictable as the sign of an activation): selections are bit masks.

// All ones where code q stands for y > 0, zero elsewhere.
inline int32_t positive_mask(uint8_t q, int32_t shift) { return -static_cast<int32_t>(q >= shift); }

// mask ? a : b for a mask of all ones or all zeros.
inline float select(int32_t mask, float a, float b) {
  int32_t ia, ib;
  std::memcpy(&ia, &a, sizeof(ia));
  std::memcpy(&ib, &b, sizeof(ib));
  const int32_t r = (ia & mask) | (ib & ~mask);
  float out;
  std::memcpy(&out, &r, sizeof(out));
  return out;
}

// Bin centre of code q, with the sign the code stands for.
inline float signed_centre(uint8_t q, const ChannelGrid& g, int32_t shift) {
  const float v = g.offset + (static_cast<float>(q) + 0.5f) * g.step;
  return select(positive_mask(q, shift), std::max(v, 0.0f), std::min(v, 0.0f));
}

// Codes of one channel run. The grid position is clamped to the codes of the value's side of 0, so
// the mask stays exact even where rounding puts a value next to 0 in the neighbouring bin. Written
// without branches so it vectorises (the signs of activations are unpredictable): v > 0 exactly when
// its bits as an int32 are > 0 (sign clear, not +0). Truncation equals the floor once t >= -1 is
// clamped to the side's codes, whose bounds are >= 0. A NaN gets a valid code of its sign bit's side.
void encode_run(const float* __restrict v, int64_t len, const ChannelGrid& g, uint8_t* __restrict q) {
  const float offset = g.offset, inv_step = g.inv_step, t_max = g.top + 1.0f;
  const int32_t shift = static_cast<int32_t>(g.shift), top = static_cast<int32_t>(g.top);
  for (int64_t j = 0; j < len; ++j) {
    int32_t bits;
    std::memcpy(&bits, v + j, sizeof(bits));
    const int32_t positive = bits > 0;
    const float t = std::max(-1.0f, std::min((v[j] - offset) * inv_step, t_max));  // NaN -> -1
    const int32_t lowest = positive * shift, highest = shift - 1 + positive * (top - shift + 1);
    q[j] = static_cast<uint8_t>(std::min(std::max(static_cast<int32_t>(t), lowest), highest));
  }
}

// Calls fn(channel, first, count) for the runs of elements [begin, end) of an [N, C, S] tensor that lie
// in one channel plane, in order.
template <class Fn>
inline void for_each_channel_run(int64_t c, int64_t s, int64_t begin, int64_t end, Fn&& fn) {
  for (int64_t i = begin; i < end;) {
    const int64_t plane = i / s, len = std::min(s - (i - plane * s), end - i);
    fn(plane % c, i, len);
    i += len;
  }
}

// Unpacks the codes chunk by chunk and calls fn(channel, codes, first, count) for each channel run;
// codes[0] is the code of element `first`.
template <class Fn>
void for_each_code_run(int64_t n, int64_t c, int64_t s, const uint8_t* packed, int bits, Fn&& fn) {
  const int64_t total = n * c * s, chunks = (total + kChunk - 1) / kChunk;
#pragma omp parallel for schedule(static) if (total >= kParallelMinElements)
  for (int64_t k = 0; k < chunks; ++k) {
    uint8_t codes[kChunk];
    const int64_t begin = k * kChunk, end = std::min(total, begin + kChunk);
    unpack_codes(packed + begin * bits / 8, end - begin, bits, codes);
    for_each_channel_run(c, s, begin, end, [&](int64_t ch, int64_t first, int64_t len) {
      fn(ch, codes + (first - begin), first, len);
    });
  }
}

}  // namespace

void channel_mean_std_cpu(int64_t n, int64_t c, int64_t s, const float* y, float* mean, float* std) {
  const double m = static_cast<double>(n * s);
#pragma omp parallel for schedule(static) if (n * c * s >= kParallelMinElements)
  for (int64_t ch = 0; ch < c; ++ch) {
    if (m == 0) {
      mean[ch] = std[ch] = 0.0f;
      continue;
    }
    const ChannelMoments mo = channel_moments(n, c, s, ch, y);
    mean[ch] = static_cast<float>(mo.mean);
    std[ch] = static_cast<float>(std::sqrt(mo.sum_sq_dev / m));
  }
}

void relu_grid_cpu(int64_t c, const float* mean, const float* std, int bits, float* grid) {
  check_bits(bits, "relu_grid_cpu");
  const int levels = 1 << bits;
  for (int64_t ch = 0; ch < c; ++ch) {
    const double mu = std::isfinite(mean[ch]) ? mean[ch] : 0.0;
    // A constant channel still needs bins of positive width.
    const double floor_sd = std::max(1e-6 * std::abs(mu), 1e-12);
    const double sd = std[ch] >= floor_sd && std::isfinite(std[ch]) ? std[ch] : floor_sd;
    const double lo = mu - 3.0 * sd;
    double step, offset;
    int shift;
    if (lo >= 0.0) {  // all positive: code 0 is reserved for y <= 0
      step = 6.0 * sd / (levels - 1);
      shift = 1;
      offset = lo - step;
    } else if (mu + 3.0 * sd <= 0.0) {  // all negative: code n-1 is reserved for y > 0
      step = 6.0 * sd / (levels - 1);
      shift = levels - 1;
      offset = lo;
    } else {  // 0 inside the window: the lowest edge at or just below lo, 0 on an edge
      step = 6.0 * sd / levels;
      const double below = std::ceil(-lo / step);  // bins below 0
      shift = static_cast<int>(std::min<double>(std::max(below, 1.0), levels - 1));
      offset = -shift * step;
    }
    grid[kGridOffset * c + ch] = static_cast<float>(offset);
    grid[kGridStep * c + ch] = static_cast<float>(step);
    grid[kGridShift * c + ch] = static_cast<float>(shift);
  }
}

void quantize_cpu(int64_t n, int64_t c, int64_t s, const float* y, const float* grid, int bits,
                  uint8_t* packed) {
  check_bits(bits, "quantize_cpu");
  const int64_t total = n * c * s, chunks = (total + kChunk - 1) / kChunk;
#pragma omp parallel for schedule(static) if (total >= kParallelMinElements)
  for (int64_t k = 0; k < chunks; ++k) {
    uint8_t codes[kChunk];
    const int64_t begin = k * kChunk, end = std::min(total, begin + kChunk);
    for_each_channel_run(c, s, begin, end, [&](int64_t ch, int64_t first, int64_t len) {
      encode_run(y + first, len, grid_of(grid, c, ch, bits), codes + (first - begin));
    });
    pack_codes(codes, end - begin, bits, packed + begin * bits / 8);
  }
}

void dequantize_cpu(int64_t n, int64_t c, int64_t s, const uint8_t* packed, const float* grid, int bits,
                    float* y) {
  check_bits(bits, "dequantize_cpu");
  for_each_code_run(n, c, s, packed, bits, [&](int64_t ch, const uint8_t* __restrict q, int64_t first, int64_t len) {
    const ChannelGrid g = grid_of(grid, c, ch, bits);
    const int32_t shift = static_cast<int32_t>(g.shift);
    float* __restrict out = y + first;
    for (int64_t j = 0; j < len; ++j) out[j] = signed_centre(q[j], g, shift);
  });
}

void dequantize_relu_cpu(int64_t n, int64_t c, int64_t s, const uint8_t* packed, const float* grid,
                         int bits, float* h) {
  check_bits(bits, "dequantize_relu_cpu");
  for_each_code_run(n, c, s, packed, bits, [&](int64_t ch, const uint8_t* __restrict q, int64_t first, int64_t len) {
    const ChannelGrid g = grid_of(grid, c, ch, bits);
    const int32_t shift = static_cast<int32_t>(g.shift);
    float* __restrict out = h + first;
    for (int64_t j = 0; j < len; ++j) {
      const float v = std::max(g.offset + (static_cast<float>(q[j]) + 0.5f) * g.step, 0.0f);
      out[j] = select(positive_mask(q[j], shift), v, 0.0f);
    }
  });
}

void dequantize_normalized_cpu(int64_t n, int64_t c, int64_t s, const uint8_t* packed, const float* grid,
                               int bits, const float* gamma, const float* beta, float* xhat) {
  check_bits(bits, "dequantize_normalized_cpu");
  for_each_code_run(n, c, s, packed, bits, [&](int64_t ch, const uint8_t* __restrict q, int64_t first, int64_t len) {
    const ChannelGrid g = grid_of(grid, c, ch, bits);
    const int32_t shift = static_cast<int32_t>(g.shift);
    const float b = beta[ch], inv_gamma = gamma[ch] != 0.0f ? 1.0f / gamma[ch] : 0.0f;
    float* __restrict out = xhat + first;
    for (int64_t j = 0; j < len; ++j) out[j] = (signed_centre(q[j], g, shift) - b) * inv_gamma;
  });
}

void relu_backward_from_codes_cpu(int64_t n, int64_t c, int64_t s, const uint8_t* packed, const float* grid,
                                  int bits, const float* dy, float* dx) {
  check_bits(bits, "relu_backward_from_codes_cpu");
  for_each_code_run(n, c, s, packed, bits, [&](int64_t ch, const uint8_t* __restrict q, int64_t first, int64_t len) {
    const int32_t shift = static_cast<int32_t>(grid[kGridShift * c + ch]);
    // One pointer when in place, so the compiler need not guard against a partial overlap.
    if (dx == dy) {
      float* g = dx + first;
      for (int64_t j = 0; j < len; ++j) g[j] = select(positive_mask(q[j], shift), g[j], 0.0f);
    } else {
      const float* __restrict in = dy + first;
      float* __restrict out = dx + first;
      for (int64_t j = 0; j < len; ++j) out[j] = select(positive_mask(q[j], shift), in[j], 0.0f);
    }
  });
}

void batchnorm_output_mean_std_cpu(int64_t c, const float* gamma, const float* beta, const float* save_invstd,
                                   float eps, float* mean, float* std) {
  for (int64_t ch = 0; ch < c; ++ch) {
    const double shrink = 1.0 - static_cast<double>(eps) * save_invstd[ch] * save_invstd[ch];
    mean[ch] = beta[ch];
    std[ch] = static_cast<float>(std::abs(gamma[ch]) * std::sqrt(std::max(shrink, 0.0)));
  }
}

}  // namespace frugal
