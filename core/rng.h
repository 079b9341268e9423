// Counter-based random numbers (Philox4x32-10). A stream is keyed by (seed, stream id); element i of
// draw number `step` depends only on (seed, stream, step, i), never on thread scheduling, so parallel
// fills and resumed runs are bit-identical.
#pragma once
#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/host_device.h"

namespace frugal {

// Well-known stream ids, so independent consumers never share random numbers.
enum class RngStream : uint64_t {
  Init = 1,        // weight initialisation
  Dropout = 2,
  Shuffle = 3,
  Augment = 4,
  Synthetic = 5,   // synthetic datasets
  Probes = 6,      // randomized-trace probes
  Feedback = 7,    // feedback-alignment matrices
  Sampling = 8,    // outer-product sampling
  Crop = 9,        // random resized crops of photos (one key per epoch and sample)
  Test = 100,
};

struct RngKey {
  uint64_t seed = 0;
  uint64_t stream = 0;
  uint64_t step = 0;  // which draw: e.g. training step, epoch, layer index

  RngKey with_step(uint64_t s) const { return {seed, stream, s}; }
};

inline RngKey rng_key(uint64_t seed, RngStream stream, uint64_t step = 0) {
  return {seed, static_cast<uint64_t>(stream), step};
}

// One Philox4x32-10 block: four 32-bit words for counter (step, index) under key (seed, stream).
std::array<uint32_t, 4> philox4x32(const RngKey& key, uint64_t index);

// Uniform float in [0, 1) from 32 random bits (24-bit mantissa, so never exactly 1).
FRUGAL_HD inline float bits_to_unit_float(uint32_t bits) { return (bits >> 8) * (1.0f / 16777216.0f); }

// Fills: element i uses block i/4 word i%4 (normal uses pairs), so results are independent of
// threading and of how the buffer is split.
void rng_uniform(const RngKey& key, float* out, size_t n, float lo = 0.0f, float hi = 1.0f);
void rng_normal(const RngKey& key, float* out, size_t n, float mean = 0.0f, float stddev = 1.0f);
void rng_bernoulli(const RngKey& key, uint8_t* out, size_t n, float p_one);
void rng_rademacher(const RngKey& key, float* out, size_t n);  // ±1 with equal probability
// n is at most UINT32_MAX (each draw is a 32-bit index); InternalError beyond.
std::vector<int64_t> rng_permutation(const RngKey& key, int64_t n);

// Sequential draws from one key, for code that needs a few numbers at a time (shuffles, crops).
class RngSequence {
 public:
  explicit RngSequence(const RngKey& key) : key_(key) {}
  uint32_t next_u32();
  // Uniform integer in [0, bound), bound > 0, without modulo bias.
  uint32_t next_below(uint32_t bound);
  float next_uniform() { return bits_to_unit_float(next_u32()); }
  uint64_t position() const { return position_; }

 private:
  RngKey key_;
  uint64_t position_ = 0;  // index of the next 32-bit word
  std::array<uint32_t, 4> block_{};
  uint64_t block_index_ = ~uint64_t{0};
};

}  // namespace frugal
