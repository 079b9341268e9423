#include "ops/cpu/probes_cpu.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"

namespace frugal {
namespace {

// Entry `index` of the stream with the numbering of rng_rademacher / rng_normal: element i comes from
// Philox block i / 4 (a normal from the Box-Muller pair of words it shares with its neighbour).
class ProbeStream {
 public:
  ProbeStream(const RngKey& key, ProbeDistribution distribution) : key_(key), distribution_(distribution) {}

  float at(uint64_t index) {
    const uint64_t block = index / 4;
    if (block != block_index_) {
      words_ = philox4x32(key_, block);
      block_index_ = block;
    }
    const int j = static_cast<int>(index % 4);
    if (distribution_ == ProbeDistribution::Rademacher) return (words_[j] >> 31) ? 1.0f : -1.0f;
    constexpr double kTwoPi = 6.283185307179586;
    const int pair = j / 2;
    const double u1 = (static_cast<double>(words_[2 * pair]) + 1.0) / 4294967296.0;  // (0, 1]
    const double u2 = static_cast<double>(words_[2 * pair + 1]) / 4294967296.0;
    const double r = std::sqrt(-2.0 * std::log(u1));
    return static_cast<float>(j % 2 == 0 ? r * std::cos(kTwoPi * u2) : r * std::sin(kTwoPi * u2));
  }

 private:
  RngKey key_;
  ProbeDistribution distribution_;
  uint64_t block_index_ = ~uint64_t{0};
  std::array<uint32_t, 4> words_{};
};

}  // namespace

void fill_probes(const ProbeSet& probes, int64_t p0, int64_t p1, int64_t i0, int64_t i1, float* out,
                 int64_t ld) {
  const int64_t width = i1 - i0;
  const float scale =
      probes.orthogonal() ? static_cast<float>(std::sqrt(double(probes.count) / double(probes.subset_size))) : 1.0f;
#pragma omp parallel for schedule(static) if ((p1 - p0) * width > (int64_t{1} << 15))
  for (int64_t p = p0; p < p1; ++p) {
    ProbeStream stream(probes.key, probes.distribution);
    float* row = out + (p - p0) * ld;
    const uint64_t base = static_cast<uint64_t>(p) * static_cast<uint64_t>(probes.dim);
    if (!probes.orthogonal()) {
      for (int64_t i = i0; i < i1; ++i) row[i - i0] = stream.at(base + static_cast<uint64_t>(i));
      continue;
    }
    // Channel by channel: entries of channels outside p's subsets are zero.
    for (int64_t i = i0; i < i1;) {
      const int64_t channel = i / probes.channel_size;
      const int64_t end = std::min(i1, (channel + 1) * probes.channel_size);
      if (probes.uses(p, channel)) {
        for (; i < end; ++i) row[i - i0] = scale * stream.at(base + static_cast<uint64_t>(i));
      } else {
        std::fill(row + (i - i0), row + (end - i0), 0.0f);
        i = end;
      }
    }
  }
}

}  // namespace frugal
