// Inverted dropout (float32): y = x * mask / (1 - p), mask[i] = 1 with probability 1 - p, drawn with
// rng_bernoulli(key, ...) so the mask depends only on (key, i). p == 1 drops everything (y = 0).
#pragma once
#include <cstdint>

#include "core/rng.h"

namespace frugal {

// Throws ConfigError when p is outside [0, 1]. mask [n] receives 0/1 bytes.
void dropout_forward_cpu(int64_t n, float p, const RngKey& key, const float* x, float* y, uint8_t* mask);
// dx = dy * mask / (1 - p); dx may alias dy.
void dropout_backward_cpu(int64_t n, float p, const float* dy, const uint8_t* mask, float* dx);

}  // namespace frugal
