// Inverted dropout: mask statistics, reproducibility, scaling, and the backward against finite
// differences of a float64 reference (for a fixed mask dropout is linear in x).
#include "ops/cpu/dropout_cpu.h"

#include <gtest/gtest.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

#include "core/error.h"
#include "core/rng.h"
#include "tests/ops/reference_util.h"

namespace frugal {
namespace {

using test::max_relative_error;  // max |got - want| / max |want|; NaN fails

std::vector<float> random_floats(size_t n, uint64_t step) {
  std::vector<float> v(n);
  rng_normal(rng_key(41, RngStream::Test, step), v.data(), n);
  return v;
}

TEST(DropoutCpu, KeepRateIsOneMinusP) {
  const int64_t n = 200000;
  const std::vector<float> x(n, 1.0f);
  std::vector<float> y(n);
  std::vector<uint8_t> mask(n);
  for (float p : {0.1f, 0.5f, 0.8f}) {
    dropout_forward_cpu(n, p, rng_key(1, RngStream::Dropout, 0), x.data(), y.data(), mask.data());
    const double kept = std::accumulate(mask.begin(), mask.end(), 0.0) / n;
    EXPECT_NEAR(kept, 1.0 - p, 0.005) << "p=" << p;  // sd of the rate <= 0.0012
  }
}

TEST(DropoutCpu, SameKeyGivesSameMaskAndAnotherStepADifferentOne) {
  const int64_t n = 1000;
  const std::vector<float> x = random_floats(n, 1);
  std::vector<float> y(n);
  std::vector<uint8_t> a(n), b(n), c(n);
  dropout_forward_cpu(n, 0.3f, rng_key(5, RngStream::Dropout, 7), x.data(), y.data(), a.data());
  dropout_forward_cpu(n, 0.3f, rng_key(5, RngStream::Dropout, 7), x.data(), y.data(), b.data());
  dropout_forward_cpu(n, 0.3f, rng_key(5, RngStream::Dropout, 8), x.data(), y.data(), c.data());
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
}

TEST(DropoutCpu, DroppedAreZeroAndKeptAreScaledByInverseKeepRate) {
  const int64_t n = 4096;
  const float p = 0.25f;
  const std::vector<float> x = random_floats(n, 2);
  std::vector<float> y(n);
  std::vector<uint8_t> mask(n);
  dropout_forward_cpu(n, p, rng_key(2, RngStream::Dropout), x.data(), y.data(), mask.data());
  int64_t dropped = 0;
  for (int64_t i = 0; i < n; ++i) {
    if (mask[i] == 0) {
      ++dropped;
      EXPECT_EQ(y[i], 0.0f) << "element " << i;
    } else {
      EXPECT_EQ(mask[i], 1);
      EXPECT_NEAR(y[i], x[i] / (1.0 - p), 1e-6 * std::abs(x[i])) << "element " << i;
    }
  }
  EXPECT_GT(dropped, 0);
  EXPECT_LT(dropped, n);
}

TEST(DropoutCpu, BackwardMatchesFiniteDifferences) {
  const int64_t n = 777;
  const float p = 0.4f;
  const std::vector<float> x = random_floats(n, 3), dy = random_floats(n, 4);
  std::vector<float> y(n), dx(n);
  std::vector<uint8_t> mask(n);
  dropout_forward_cpu(n, p, rng_key(3, RngStream::Dropout), x.data(), y.data(), mask.data());
  dropout_backward_cpu(n, p, dy.data(), mask.data(), dx.data());
  // L(x) = sum_i dy_i * x_i * mask_i / (1 - p) in float64; central difference per element.
  auto loss = [&](const std::vector<double>& v) {
    double s = 0.0;
    for (int64_t i = 0; i < n; ++i) s += dy[i] * v[i] * mask[i] / (1.0 - p);
    return s;
  };
  std::vector<double> xd(x.begin(), x.end()), numeric(n);
  const double h = 1e-6;
  for (int64_t i = 0; i < n; ++i) {
    const double keep = xd[i];
    xd[i] = keep + h;
    const double up = loss(xd);
    xd[i] = keep - h;
    numeric[i] = (up - loss(xd)) / (2.0 * h);
    xd[i] = keep;
  }
  EXPECT_LT(max_relative_error(dx, numeric), 1e-4);
}

TEST(DropoutCpu, BackwardMayWriteOverDy) {
  const int64_t n = 100;
  const std::vector<float> dy = random_floats(n, 5);
  std::vector<uint8_t> mask(n);
  rng_bernoulli(rng_key(4, RngStream::Test), mask.data(), n, 0.5f);
  std::vector<float> dx(n), in_place = dy;
  dropout_backward_cpu(n, 0.5f, dy.data(), mask.data(), dx.data());
  dropout_backward_cpu(n, 0.5f, in_place.data(), mask.data(), in_place.data());
  EXPECT_EQ(in_place, dx);
}

TEST(DropoutCpu, ZeroProbabilityIsIdentityAndOneDropsEverything) {
  const int64_t n = 256;
  const std::vector<float> x = random_floats(n, 6);
  std::vector<float> y(n);
  std::vector<uint8_t> mask(n);
  dropout_forward_cpu(n, 0.0f, rng_key(6, RngStream::Dropout), x.data(), y.data(), mask.data());
  EXPECT_EQ(y, x);
  dropout_forward_cpu(n, 1.0f, rng_key(6, RngStream::Dropout), x.data(), y.data(), mask.data());
  EXPECT_TRUE(std::all_of(y.begin(), y.end(), [](float v) { return v == 0.0f; }));
}

TEST(DropoutCpu, ProbabilityOutsideUnitIntervalThrowsConfigError) {
  float x = 1.0f, y = 0.0f;
  uint8_t mask = 0;
  EXPECT_THROW(dropout_forward_cpu(1, 1.5f, rng_key(0, RngStream::Dropout), &x, &y, &mask), ConfigError);
  EXPECT_THROW(dropout_backward_cpu(1, -0.1f, &x, &mask, &y), ConfigError);
}

TEST(DropoutCpu, OutputsAreBitIdenticalAcrossThreadCounts) {
  const int64_t n = 1 << 17;  // above the OpenMP threshold
  const std::vector<float> x = random_floats(n, 7);
  auto run = [&](int threads) {
    const int before = omp_get_max_threads();
    omp_set_num_threads(threads);
    std::vector<float> y(n), dx(n);
    std::vector<uint8_t> mask(n);
    dropout_forward_cpu(n, 0.3f, rng_key(8, RngStream::Dropout, 3), x.data(), y.data(), mask.data());
    dropout_backward_cpu(n, 0.3f, x.data(), mask.data(), dx.data());
    omp_set_num_threads(before);
    y.insert(y.end(), dx.begin(), dx.end());
    y.insert(y.end(), mask.begin(), mask.end());
    return y;
  };
  const std::vector<float> once = run(1);
  EXPECT_EQ(once, run(2));
  EXPECT_EQ(once, run(2));
}

}  // namespace
}  // namespace frugal
