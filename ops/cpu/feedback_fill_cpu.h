// Fills for fixed random feedback matrices (feedback alignment), regenerated every step instead of
// stored. Element i is a pure function of (key, i) through the splitmix64 finaliser, so a fill is
// deterministic, independent of threading and of how the buffer is split, and about an order of
// magnitude cheaper than Philox-10 (core/rng.h): regenerating a 1024x1024 matrix costs less than
// the backward GEMM that reads it. Statistical quality is what a fixed random projection needs
// (full-period 64-bit mixing, 24-bit uniforms), not cryptographic.
#pragma once
#include <cstdint>

namespace frugal {

// One 64-bit key from (seed, stream, index), each word mixed so nearby values give unrelated keys.
uint64_t feedback_fill_key(uint64_t seed, uint64_t stream, uint64_t index);

// out[i] ~ U(-bound, bound), |out[i]| <= bound.
void feedback_uniform_cpu(uint64_t key, float* out, int64_t n, float bound);
// out[i] ~ N(0, stddev^2) (Box-Muller on pairs of 24-bit uniforms).
void feedback_normal_cpu(uint64_t key, float* out, int64_t n, float stddev);

}  // namespace frugal
