// Random probe vectors for trace estimation: r probes z_0..z_{r-1}, each of `dim` entries, with
// E[z_p z_p^T] = I for every p. Entry (p, i) depends only on (key, p, i), so the backward pass
// regenerates bit-identically the probes the forward pass used, in any blocking and on any thread.
//
// Orthogonal probe sets split the entries into channels of `channel_size` consecutive entries; channel c
// only uses the probes of its subset S_c (|S_c| = subset_size, no duplicates) with entries scaled by
// sqrt(r / |S_c|), so (1/r) sum_p E[z_p z_p^T] is still I while channels with disjoint subsets no longer
// leak into each other's estimates.
#pragma once
#include <cstdint>

#include "core/rng.h"

namespace frugal {

enum class ProbeDistribution { Rademacher, Gaussian };

struct ProbeSet {
  RngKey key;
  ProbeDistribution distribution = ProbeDistribution::Rademacher;
  int64_t count = 0;         // r
  int64_t dim = 0;           // entries per probe
  int64_t channel_size = 0;  // orthogonal sets: entries per channel; 0 = dense probes
  int64_t subset_size = 0;   // orthogonal sets: |S_c|

  bool orthogonal() const { return channel_size > 0; }
  // Whether channel c has a (possibly) non-zero entry in probe p. Always true for dense probes.
  bool uses(int64_t probe, int64_t channel) const;
};

// Dense probes over `dim` entries.
ProbeSet dense_probes(const RngKey& key, ProbeDistribution distribution, int64_t count, int64_t dim);

// Orthogonal probes over `channels` channels of `channel_size` entries. Subsets: r / channels probes
// per channel, disjoint, when that is at least 8; otherwise min(8, r) consecutive probes (mod r)
// starting at c * that size, so neighbouring channels overlap but no channel repeats a probe.
ProbeSet orthogonal_probes(const RngKey& key, ProbeDistribution distribution, int64_t count, int64_t channels,
                           int64_t channel_size);

// out[(p - p0) * ld + (i - i0)] = z_p[i] for p in [p0, p1), i in [i0, i1).
void fill_probes(const ProbeSet& probes, int64_t p0, int64_t p1, int64_t i0, int64_t i1, float* out,
                 int64_t ld);

}  // namespace frugal
