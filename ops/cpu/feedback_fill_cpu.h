// CPU fills of fixed random feedback matrices (ops/feedback_fill.h).
#pragma once
#include "ops/feedback_fill.h"
#include <cstdint>

namespace frugal {

// out[i] ~ U(-bound, bound), |out[i]| <= bound.
void feedback_uniform_cpu(uint64_t key, float* out, int64_t n, float bound);
// out[i] ~ N(0, stddev^2) (Box-Muller on pairs of 24-bit uniforms).
void feedback_normal_cpu(uint64_t key, float* out, int64_t n, float stddev);

}  // namespace frugal
