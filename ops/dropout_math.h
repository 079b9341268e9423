// The arithmetic of inverted dropout per element, for the CUDA kernels (ops/cuda/dropout_cuda.cu);
// tests/ops/dropout_math_test.cpp holds it against the CPU kernels (ops/cpu/dropout_cpu.cpp). The mask
// of element i is rng_bernoulli's (core/rng.h): word i % 4 of the Philox block i / 4 of the layer's key,
// kept when its 24-bit uniform is below 1 - p, so both devices drop the same elements.
#pragma once
#include <cstdint>

#include "core/host_device.h"
#include "core/philox.h"
#include "core/rng.h"

namespace frugal {
namespace dropout_math {

// 1/(1-p) for kept elements; p == 1 keeps nothing, and 0 avoids an infinite scale.
FRUGAL_HD inline float keep_scale(float p) { return p < 1.0f ? 1.0f / (1.0f - p) : 0.0f; }

// rng_bernoulli's test: the word's uniform below the keep probability 1 - p.
FRUGAL_HD inline uint8_t keeps(uint32_t word, float keep_probability) {
  return bits_to_unit_float(word) < keep_probability ? 1 : 0;
}

// The mask bytes of elements 4b .. 4b+3 (block b of the fill).
FRUGAL_HD inline void mask_block(uint64_t philox_key, uint64_t step, uint64_t b, float keep_probability,
                                 uint8_t out[4]) {
  const PhiloxBlock words = philox4x32_block(philox_key, step, b);
  for (int j = 0; j < 4; ++j) out[j] = keeps(words.w[j], keep_probability);
}

FRUGAL_HD inline float apply(uint8_t mask, float x, float scale) { return mask ? x * scale : 0.0f; }

}  // namespace dropout_math
}  // namespace frugal
