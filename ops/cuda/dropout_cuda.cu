// Inverted dropout (contracts: ops/cpu/dropout_cpu.h). The mask comes from the same Philox stream as
// the CPU's rng_bernoulli (ops/dropout_math.h), so a key drops the same elements on both devices.
#include <string>

#include "core/error.h"
#include "ops/cuda/dense_kernels_cuda.h"
#include "ops/cuda/launch_cuda.cuh"
#include "ops/dropout_math.h"

namespace frugal::cuda {
namespace dm = dropout_math;
namespace {

float checked_scale(float p) {
  FRUGAL_CHECK(p >= 0.0f && p <= 1.0f, ConfigError, "dropout probability must be in [0, 1], got " + std::to_string(p));
  return dm::keep_scale(p);
}

}  // namespace

void dropout_forward(int64_t n, float p, const RngKey& key, const float* x, float* y, uint8_t* mask) {
  const float scale = checked_scale(p), keep = 1.0f - p;
  const uint64_t philox = philox_key(key.seed, key.stream), step = key.step;
  // One thread per Philox block: elements 4b .. 4b+3.
  for_each_index((n + 3) / 4, "dropout_forward", [=] __device__(int64_t b) {
    uint8_t m[4];
    dm::mask_block(philox, step, static_cast<uint64_t>(b), keep, m);
    for (int j = 0; j < 4; ++j) {
      const int64_t i = 4 * b + j;
      if (i < n) {
        mask[i] = m[j];
        y[i] = dm::apply(m[j], x[i], scale);
      }
    }
  });
}

void dropout_backward(int64_t n, float p, const float* dy, const uint8_t* mask, float* dx) {
  const float scale = checked_scale(p);
  for_each_index(n, "dropout_backward", [=] __device__(int64_t i) { dx[i] = dm::apply(mask[i], dy[i], scale); });
}

}  // namespace frugal::cuda
