// CPU fill of random probe vectors (ops/trace_probes.h says what a probe set is).
#pragma once
#include "ops/trace_probes.h"

namespace frugal {

// out[(p - p0) * ld + (i - i0)] = z_p[i] for p in [p0, p1), i in [i0, i1).
void fill_probes(const ProbeSet& probes, int64_t p0, int64_t p1, int64_t i0, int64_t i1, float* out,
                 int64_t ld);

}  // namespace frugal
