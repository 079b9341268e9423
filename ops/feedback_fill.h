// Fixed random feedback matrices (feedback alignment) are regenerated every step instead of stored.
// Element i is a pure function of (key, i) through the splitmix64 finaliser, so a fill is deterministic,
// independent of threading and of how the buffer is split, the same on every device, and about an
// order of magnitude cheaper than Philox-10 (core/rng.h): regenerating a 1024x1024 matrix costs less
// than the backward GEMM that reads it. Statistical quality is what a fixed random projection needs
// (full-period 64-bit mixing, 24-bit uniforms), not cryptographic.
//
// The per-element arithmetic lives here, for the CPU kernels (ops/cpu/feedback_fill_cpu.h) and the CUDA
// ones (ops/cuda/feedback_fill_cuda.cu) alike; the CPU kernels write the same expressions in their own
// loops (tests/ops/feedback_fill_math_test.cpp holds the two together).
#pragma once
#include <math.h>

#include <cstdint>

#include "core/host_device.h"

namespace frugal {
namespace feedback_fill {

FRUGAL_HD inline uint64_t mix64(uint64_t z) {  // splitmix64's finaliser: a bijection with full avalanche
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

constexpr uint64_t kGolden = 0x9e3779b97f4a7c15ULL;
constexpr float kUnit24 = 1.0f / 16777216.0f;

// Two 24-bit uniforms in [0, 1) from one 64-bit word: pair `i` of the fill (elements 2i and 2i+1).
FRUGAL_HD inline void two_units(uint64_t key, int64_t i, float& u0, float& u1) {
  const uint64_t r = mix64(key + kGolden * static_cast<uint64_t>(i + 1));
  u0 = static_cast<float>(r >> 40) * kUnit24;
  u1 = static_cast<float>((r >> 16) & 0xffffff) * kUnit24;
}

// Pair `i` of a uniform fill: out[2i], out[2i+1] ~ U(-bound, bound).
FRUGAL_HD inline void uniform_pair(uint64_t key, int64_t i, float bound, float& v0, float& v1) {
  float u0, u1;
  two_units(key, i, u0, u1);
  v0 = bound * (2.0f * u0 - 1.0f);
  v1 = bound * (2.0f * u1 - 1.0f);
}

// Pair `i` of a normal fill: Box-Muller on the pair's two uniforms (1 - u0 in (0, 1]: a finite log).
FRUGAL_HD inline void normal_pair(uint64_t key, int64_t i, float stddev, float& v0, float& v1) {
  constexpr float kTwoPi = 6.28318530717958648f;
  float u0, u1;
  two_units(key, i, u0, u1);
  const float r = stddev * sqrtf(-2.0f * logf(1.0f - u0));
  v0 = r * cosf(kTwoPi * u1);
  v1 = r * sinf(kTwoPi * u1);
}

}  // namespace feedback_fill

// One 64-bit key from (seed, stream, index), each word mixed so nearby values give unrelated keys.
FRUGAL_HD inline uint64_t feedback_fill_key(uint64_t seed, uint64_t stream, uint64_t index) {
  using feedback_fill::kGolden;
  using feedback_fill::mix64;
  return mix64(mix64(mix64(seed + kGolden) ^ (stream * kGolden + 1)) ^ (index * kGolden + 2));
}

}  // namespace frugal
