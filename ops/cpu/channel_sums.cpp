#include "ops/cpu/channel_sums.h"

namespace frugal {
namespace {

// 32 doubles = 4 AVX-512 registers per sum: enough independent add chains to hide the add latency.
constexpr int kSumLanes = 32;

struct LaneSums {
  double v[kSumLanes] = {};
  // Pairwise, always in the same order.
  double total() {
    for (int width = kSumLanes / 2; width > 0; width /= 2)
      for (int l = 0; l < width; ++l) v[l] += v[l + width];
    return v[0];
  }
};

// Adds term_a(k) and term_b(k) for every element offset k of channel ch into a and b. The terms are
// inlined lambdas, so each caller gets its own vectorised loop.
template <class TermA, class TermB>
inline void accumulate_channel(int64_t n, int64_t c, int64_t s, int64_t ch, LaneSums& a, LaneSums& b,
                               TermA term_a, TermB term_b) {
  double va[kSumLanes], vb[kSumLanes];  // local copies the compiler keeps in registers
  for (int l = 0; l < kSumLanes; ++l) va[l] = a.v[l], vb[l] = b.v[l];
  for (int64_t i = 0; i < n; ++i) {
    const int64_t run = (i * c + ch) * s;
    int64_t j = 0;
    for (; j + kSumLanes <= s; j += kSumLanes) {
#pragma GCC unroll 32
      for (int l = 0; l < kSumLanes; ++l) {
        va[l] += term_a(run + j + l);
        vb[l] += term_b(run + j + l);
      }
    }
    for (int l = 0; j < s; ++j, ++l) {
      va[l] += term_a(run + j);
      vb[l] += term_b(run + j);
    }
  }
  for (int l = 0; l < kSumLanes; ++l) a.v[l] = va[l], b.v[l] = vb[l];
}

}  // namespace

ChannelMoments channel_moments(int64_t n, int64_t c, int64_t s, int64_t ch, const float* x) {
  const double shift = x[ch * s];
  LaneSums sum, sum_sq;
  accumulate_channel(
      n, c, s, ch, sum, sum_sq, [&](int64_t k) { return static_cast<double>(x[k]) - shift; },
      [&](int64_t k) {
        const double d = static_cast<double>(x[k]) - shift;
        return d * d;
      });
  const double m = static_cast<double>(n * s), mean_shifted = sum.total() / m;
  const double sum_sq_dev = sum_sq.total() - mean_shifted * mean_shifted * m;
  return {shift + mean_shifted, sum_sq_dev < 0.0 ? 0.0 : sum_sq_dev};  // rounding can dip below 0; NaN stays
}

ChannelGradSums channel_grad_sums(int64_t n, int64_t c, int64_t s, int64_t ch, const float* x, float mean,
                                  float scale, const float* dy) {
  LaneSums sum_dy, sum_dy_xhat;
  accumulate_channel(
      n, c, s, ch, sum_dy, sum_dy_xhat, [&](int64_t k) { return static_cast<double>(dy[k]); },
      [&](int64_t k) { return static_cast<double>(dy[k]) * ((x[k] - mean) * scale); });
  return {sum_dy.total(), sum_dy_xhat.total()};
}

double run_sum(const float* x, int64_t len) {
  LaneSums sum, unused;  // the second sum of zeros is dead code once inlined
  accumulate_channel(
      1, 1, len, 0, sum, unused, [&](int64_t k) { return static_cast<double>(x[k]); },
      [](int64_t) { return 0.0; });
  return sum.total();
}

}  // namespace frugal
