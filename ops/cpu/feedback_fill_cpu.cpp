#include "ops/cpu/feedback_fill_cpu.h"

#include <cmath>

namespace frugal {
namespace {

using feedback_fill::two_units;

constexpr int64_t kParallelThreshold = 1 << 15;

}  // namespace

void feedback_uniform_cpu(uint64_t key, float* out, int64_t n, float bound) {
  const int64_t pairs = (n + 1) / 2;
#pragma omp parallel for schedule(static) if (n > kParallelThreshold)
  for (int64_t p = 0; p < pairs; ++p) {
    float u0, u1;
    two_units(key, p, u0, u1);
    out[2 * p] = bound * (2.0f * u0 - 1.0f);
    if (2 * p + 1 < n) out[2 * p + 1] = bound * (2.0f * u1 - 1.0f);
  }
}

void feedback_normal_cpu(uint64_t key, float* out, int64_t n, float stddev) {
  constexpr float kTwoPi = 6.28318530717958648f;
  const int64_t pairs = (n + 1) / 2;
#pragma omp parallel for schedule(static) if (n > kParallelThreshold)
  for (int64_t p = 0; p < pairs; ++p) {
    float u0, u1;
    two_units(key, p, u0, u1);
    const float r = stddev * std::sqrt(-2.0f * std::log(1.0f - u0));  // 1 - u0 in (0, 1]: finite log
    out[2 * p] = r * std::cos(kTwoPi * u1);
    if (2 * p + 1 < n) out[2 * p + 1] = r * std::sin(kTwoPi * u1);
  }
}

}  // namespace frugal
