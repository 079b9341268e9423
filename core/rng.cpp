#include "core/rng.h"

#include <cmath>
#include <string>

#include "core/error.h"
#include "core/philox.h"

namespace frugal {

std::array<uint32_t, 4> philox4x32(const RngKey& key, uint64_t index) {
  const PhiloxBlock b = philox4x32_block(philox_key(key.seed, key.stream), key.step, index);
  return {b.w[0], b.w[1], b.w[2], b.w[3]};
}

void rng_uniform(const RngKey& key, float* out, size_t n, float lo, float hi) {
  const float span = hi - lo;
#pragma omp parallel for schedule(static) if (n > (1u << 16))
  for (int64_t b = 0; b < static_cast<int64_t>((n + 3) / 4); ++b) {
    auto words = philox4x32(key, static_cast<uint64_t>(b));
    for (int j = 0; j < 4; ++j) {
      size_t i = static_cast<size_t>(b) * 4 + j;
      if (i < n) out[i] = lo + span * bits_to_unit_float(words[j]);
    }
  }
}

void rng_normal(const RngKey& key, float* out, size_t n, float mean, float stddev) {
  // Box-Muller on (word0, word1) and (word2, word3): each block yields four normals.
  constexpr double kTwoPi = 6.283185307179586;
#pragma omp parallel for schedule(static) if (n > (1u << 16))
  for (int64_t b = 0; b < static_cast<int64_t>((n + 3) / 4); ++b) {
    auto w = philox4x32(key, static_cast<uint64_t>(b));
    for (int pair = 0; pair < 2; ++pair) {
      // u1 in (0, 1] so log is finite.
      double u1 = (static_cast<double>(w[2 * pair]) + 1.0) / 4294967296.0;
      double u2 = static_cast<double>(w[2 * pair + 1]) / 4294967296.0;
      double r = std::sqrt(-2.0 * std::log(u1));
      double z[2] = {r * std::cos(kTwoPi * u2), r * std::sin(kTwoPi * u2)};
      for (int j = 0; j < 2; ++j) {
        size_t i = static_cast<size_t>(b) * 4 + pair * 2 + j;
        if (i < n) out[i] = static_cast<float>(mean + stddev * z[j]);
      }
    }
  }
}

void rng_bernoulli(const RngKey& key, uint8_t* out, size_t n, float p_one) {
#pragma omp parallel for schedule(static) if (n > (1u << 16))
  for (int64_t b = 0; b < static_cast<int64_t>((n + 3) / 4); ++b) {
    auto words = philox4x32(key, static_cast<uint64_t>(b));
    for (int j = 0; j < 4; ++j) {
      size_t i = static_cast<size_t>(b) * 4 + j;
      if (i < n) out[i] = bits_to_unit_float(words[j]) < p_one ? 1 : 0;
    }
  }
}

void rng_rademacher(const RngKey& key, float* out, size_t n) {
#pragma omp parallel for schedule(static) if (n > (1u << 16))
  for (int64_t b = 0; b < static_cast<int64_t>((n + 3) / 4); ++b) {
    auto words = philox4x32(key, static_cast<uint64_t>(b));
    for (int j = 0; j < 4; ++j) {
      size_t i = static_cast<size_t>(b) * 4 + j;
      if (i < n) out[i] = (words[j] >> 31) ? 1.0f : -1.0f;
    }
  }
}

std::vector<int64_t> rng_permutation(const RngKey& key, int64_t n) {
  // Each swap draws below i + 1 <= n in 32 bits: beyond UINT32_MAX the bound would wrap (to 0 at 2^32).
  if (n < 0 || n > static_cast<int64_t>(UINT32_MAX))
    throw InternalError("rng_permutation: " + std::to_string(n) + " elements, expected 0 to 2^32 - 1");
  std::vector<int64_t> perm(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) perm[i] = i;
  RngSequence seq(key);
  for (int64_t i = n - 1; i > 0; --i) {  // Fisher-Yates
    int64_t j = seq.next_below(static_cast<uint32_t>(i + 1));
    std::swap(perm[i], perm[j]);
  }
  return perm;
}

uint32_t RngSequence::next_u32() {
  uint64_t block = position_ / 4;
  if (block != block_index_) {
    block_ = philox4x32(key_, block);
    block_index_ = block;
  }
  return block_[position_++ % 4];
}

uint32_t RngSequence::next_below(uint32_t bound) {
  // Lemire's multiply-shift with rejection: unbiased for every bound.
  uint64_t m = static_cast<uint64_t>(next_u32()) * bound;
  uint32_t low = static_cast<uint32_t>(m);
  if (low < bound) {
    uint32_t threshold = (0u - bound) % bound;
    while (low < threshold) {
      m = static_cast<uint64_t>(next_u32()) * bound;
      low = static_cast<uint32_t>(m);
    }
  }
  return static_cast<uint32_t>(m >> 32);
}

}  // namespace frugal
