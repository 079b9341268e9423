// Helpers shared by the op kernel tests: seeded random inputs, float64 copies, and error measures
// against float64 reference implementations.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

#include "core/rng.h"

namespace frugal::test {

// n floats uniform in [lo, hi), reproducible from (seed, step).
inline std::vector<float> random_floats(size_t n, uint64_t seed, uint64_t step = 0, float lo = -1.0f,
                                        float hi = 1.0f) {
  std::vector<float> v(n);
  rng_uniform(rng_key(seed, RngStream::Test, step), v.data(), n, lo, hi);
  return v;
}

inline std::vector<double> to_double(const std::vector<float>& v) { return {v.begin(), v.end()}; }

inline double max_abs(const std::vector<double>& v) {
  double m = 0.0;
  for (double x : v) m = std::max(m, std::fabs(x));
  return m;
}

// max |got - ref| / max |ref| (absolute error when ref is all zeros). NaN in `got` gives +inf, so a
// kernel that leaves an output untouched cannot pass.
inline double max_relative_error(const std::vector<float>& got, const std::vector<double>& ref) {
  if (got.size() != ref.size()) return INFINITY;
  double worst = 0.0;
  for (size_t i = 0; i < got.size(); ++i) {
    const double diff = std::fabs(static_cast<double>(got[i]) - ref[i]);
    worst = std::isnan(diff) ? INFINITY : std::max(worst, diff);
  }
  const double scale = max_abs(ref);
  return scale > 0.0 ? worst / scale : worst;
}

inline bool bit_identical(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

}  // namespace frugal::test
