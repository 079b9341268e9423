// Per-channel sums over a channel of an [N, C, S] tensor (the N runs of S contiguous values at
// (i*C + ch)*S), for batch-norm statistics and quantisation grids. Sums are accumulated in double in a
// fixed set of lanes (element j of a run goes to lane j % kSumLanes) that are combined in a fixed order:
// the compiler can vectorise the lane loop, and the result depends only on the data, never on threads.
#pragma once
#include <cstdint>

namespace frugal {

struct ChannelMoments {
  double mean;
  double sum_sq_dev;  // sum of (x - mean)^2; divide by the count for the biased variance
};

// One pass: sums of x - shift and its square with shift = the channel's first value, so the variance
// does not cancel when |mean| >> std (the shift is within a few std of the mean).
ChannelMoments channel_moments(int64_t n, int64_t c, int64_t s, int64_t ch, const float* x);

struct ChannelGradSums {
  double sum_dy;       // sum(dy)
  double sum_dy_xhat;  // sum(dy * xhat), xhat = (x - mean) * scale computed in float
};

// Batch-norm backward sums; mean = 0, scale = 1 when x already is xhat.
ChannelGradSums channel_grad_sums(int64_t n, int64_t c, int64_t s, int64_t ch, const float* x, float mean,
                                  float scale, const float* dy);

// Sum of x[0, len) in double, with the same lanes (one run).
double run_sum(const float* x, int64_t len);

}  // namespace frugal
