#include "ops/trace_probes.h"

#include <algorithm>

#include "core/error.h"

namespace frugal {

bool ProbeSet::uses(int64_t probe, int64_t channel) const {
  if (!orthogonal()) return true;
  // S_c = {(c * s + j) mod r : 0 <= j < s}.
  const int64_t offset = ((probe - channel * subset_size) % count + count) % count;
  return offset < subset_size;
}

ProbeSet dense_probes(const RngKey& key, ProbeDistribution distribution, int64_t count, int64_t dim) {
  FRUGAL_CHECK(count > 0 && dim > 0, InternalError,
               "dense_probes: need count > 0 and dim > 0, got " + std::to_string(count) + ", " + std::to_string(dim));
  ProbeSet s;
  s.key = key;
  s.distribution = distribution;
  s.count = count;
  s.dim = dim;
  return s;
}

ProbeSet orthogonal_probes(const RngKey& key, ProbeDistribution distribution, int64_t count, int64_t channels,
                           int64_t channel_size) {
  FRUGAL_CHECK(channels > 0 && channel_size > 0, InternalError,
               "orthogonal_probes: need channels > 0 and channel_size > 0");
  ProbeSet s = dense_probes(key, distribution, count, channels * channel_size);
  s.channel_size = channel_size;
  const int64_t per_channel = count / channels;
  s.subset_size = per_channel >= 8 ? per_channel : std::min<int64_t>(8, count);
  return s;
}

ProbeSet conv_probe_set(const Conv2dGeometry& g, const TraceProbes& p) {
  const int64_t plane = g.in_h * g.in_w;
  switch (p.mode) {
    case ProbeMode::Independent: return dense_probes(p.key, p.distribution, p.count, plane);
    case ProbeMode::Gaussian: return dense_probes(p.key, p.distribution, p.count, g.in_channels * plane);
    case ProbeMode::Orthogonal: return orthogonal_probes(p.key, p.distribution, p.count, g.in_channels, plane);
  }
  throw InternalError("conv_probe_set: unknown probe mode");
}

ProbeSet linear_probe_set(int64_t n, int64_t in, const TraceProbes& p) {
  switch (p.mode) {
    case ProbeMode::Independent: return dense_probes(p.key, p.distribution, p.count, n);
    case ProbeMode::Gaussian: return dense_probes(p.key, p.distribution, p.count, in);
    case ProbeMode::Orthogonal: return orthogonal_probes(p.key, p.distribution, p.count, in, 1);
  }
  throw InternalError("linear_probe_set: unknown probe mode");
}

Shape conv_trace_sketch_shape(const Conv2dGeometry& g, const TraceProbes& p) {
  if (p.mode == ProbeMode::Independent) return {g.batch, g.in_channels, p.count};
  return {g.batch, p.count};
}

Shape linear_trace_sketch_shape(int64_t n, int64_t in, const TraceProbes& p) {
  if (p.mode == ProbeMode::Independent) return {p.count, in};
  return {n, p.count};
}

}  // namespace frugal
