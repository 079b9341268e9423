#include "ops/init.h"

#include <cmath>

namespace frugal {

void init_pytorch_default(const RngKey& key, int64_t fan_in, Tensor& weight, Tensor* bias) {
  // gain = sqrt(2 / (1 + a^2)) with a = sqrt(5); bound = gain * sqrt(3 / fan_in) = 1 / sqrt(fan_in).
  float bound = fan_in > 0 ? 1.0f / std::sqrt(static_cast<float>(fan_in)) : 0.0f;
  rng_uniform(key.with_step(0), weight.f32(), weight.numel(), -bound, bound);
  if (bias && bias->defined()) rng_uniform(key.with_step(1), bias->f32(), bias->numel(), -bound, bound);
}

}  // namespace frugal
