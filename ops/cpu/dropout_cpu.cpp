#include "ops/cpu/dropout_cpu.h"

#include <string>

#include "core/error.h"

namespace frugal {
namespace {

constexpr int64_t kParallelMinElements = 1 << 15;

// 1/(1-p) for kept elements; p == 1 keeps nothing, and 0 avoids an infinite scale.
float keep_scale(float p) {
  FRUGAL_CHECK(p >= 0.0f && p <= 1.0f, ConfigError,
               "dropout probability must be in [0, 1], got " + std::to_string(p));
  return p < 1.0f ? 1.0f / (1.0f - p) : 0.0f;
}

}  // namespace

void dropout_forward_cpu(int64_t n, float p, const RngKey& key, const float* x, float* y, uint8_t* mask) {
  const float scale = keep_scale(p);
  rng_bernoulli(key, mask, static_cast<size_t>(n), 1.0f - p);
#pragma omp parallel for schedule(static) if (n >= kParallelMinElements)
  for (int64_t i = 0; i < n; ++i) y[i] = mask[i] ? x[i] * scale : 0.0f;
}

void dropout_backward_cpu(int64_t n, float p, const float* dy, const uint8_t* mask, float* dx) {
  const float scale = keep_scale(p);
#pragma omp parallel for schedule(static) if (n >= kParallelMinElements)
  for (int64_t i = 0; i < n; ++i) dx[i] = mask[i] ? dy[i] * scale : 0.0f;
}

}  // namespace frugal
