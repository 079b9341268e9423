// Random probe vectors for trace estimation (what the randomized_trace mode projects activations on): r probes z_0..z_{r-1}, each of `dim` entries, with
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
#include "core/shape.h"
#include "ops/conv_geometry.h"

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

// ---- The probes of the randomized-trace weight-gradient estimator (ops/cpu/randomized_trace_cpu.h) ----

enum class ProbeMode { Independent, Gaussian, Orthogonal };

struct TraceProbes {
  ProbeMode mode = ProbeMode::Independent;
  ProbeDistribution distribution = ProbeDistribution::Rademacher;
  int64_t count = 16;  // r
  RngKey key;          // regenerates the probes; a new step gives new probes
};

// The sketch a layer keeps instead of its input.
Shape conv_trace_sketch_shape(const Conv2dGeometry& g, const TraceProbes& probes);
Shape linear_trace_sketch_shape(int64_t n, int64_t in, const TraceProbes& probes);

// The probe set each layer type uses for its mode (exposed for tests).
ProbeSet conv_probe_set(const Conv2dGeometry& g, const TraceProbes& probes);
ProbeSet linear_probe_set(int64_t n, int64_t in, const TraceProbes& probes);

}  // namespace frugal
