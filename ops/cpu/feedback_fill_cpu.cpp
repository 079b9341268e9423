#include "ops/cpu/feedback_fill_cpu.h"

#include <cmath>

namespace frugal {
namespace {

inline uint64_t mix64(uint64_t z) {  // splitmix64's finaliser: a bijection with full avalanche
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

constexpr uint64_t kGolden = 0x9e3779b97f4a7c15ULL;
constexpr float kUnit24 = 1.0f / 16777216.0f;

// Two 24-bit uniforms in [0, 1) from one 64-bit word.
inline void two_units(uint64_t key, int64_t i, float& u0, float& u1) {
  const uint64_t r = mix64(key + kGolden * static_cast<uint64_t>(i + 1));
  u0 = static_cast<float>(r >> 40) * kUnit24;
  u1 = static_cast<float>((r >> 16) & 0xffffff) * kUnit24;
}

constexpr int64_t kParallelThreshold = 1 << 15;

}  // namespace

uint64_t feedback_fill_key(uint64_t seed, uint64_t stream, uint64_t index) {
  return mix64(mix64(mix64(seed + kGolden) ^ (stream * kGolden + 1)) ^ (index * kGolden + 2));
}

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
