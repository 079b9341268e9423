#include "core/rng.h"

#include "core/error.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <numeric>
#include <vector>

namespace frugal {
namespace {

TEST(Rng, SameKeyGivesIdenticalNumbers) {
  std::vector<float> a(1000), b(1000);
  rng_normal(rng_key(42, RngStream::Test, 3), a.data(), a.size());
  rng_normal(rng_key(42, RngStream::Test, 3), b.data(), b.size());
  EXPECT_EQ(a, b);
}

// Pinned words of the generator (computed before core/philox.h took the block over, and what every
// device regenerates): a change here changes every seeded run, checkpoints' RNG state included.
TEST(Rng, PhiloxWordsArePinned) {
  struct Case {
    RngKey key;
    uint64_t index;
    std::array<uint32_t, 4> words;
  };
  const Case cases[] = {
      {rng_key(0, RngStream::Init, 0), 0, {0xEE2E70EEu, 0x744DE3D6u, 0xEB70E07Du, 0x9652CA8Fu}},
      {rng_key(42, RngStream::Probes, 7), 123456789, {0x59C585B3u, 0xC572DD83u, 0x2B13E2A5u, 0xC10B76F3u}},
      {{~0ull, 1ull << 40, ~0ull}, ~0ull, {0xED7B485Au, 0x3D8C77DCu, 0x9AF6F85Fu, 0xFEEA4CA4u}},
  };
  for (const Case& c : cases) EXPECT_EQ(philox4x32(c.key, c.index), c.words) << c.index;
}

TEST(Rng, DifferentSeedStreamOrStepDiffer) {
  std::vector<float> base(64), other(64);
  rng_uniform(rng_key(1, RngStream::Test, 0), base.data(), base.size());
  for (RngKey k : {rng_key(2, RngStream::Test, 0), rng_key(1, RngStream::Init, 0),
                   rng_key(1, RngStream::Test, 1)}) {
    rng_uniform(k, other.data(), other.size());
    EXPECT_NE(base, other);
  }
}

TEST(Rng, FillIsIndependentOfBufferLength) {
  // Element i depends only on (key, i): a prefix of a longer fill equals a shorter fill.
  std::vector<float> longer(1001), shorter(37);
  rng_uniform(rng_key(7, RngStream::Test), longer.data(), longer.size());
  rng_uniform(rng_key(7, RngStream::Test), shorter.data(), shorter.size());
  EXPECT_TRUE(std::equal(shorter.begin(), shorter.end(), longer.begin()));
}

TEST(Rng, UniformMomentsMatch) {
  std::vector<float> u(200000);
  rng_uniform(rng_key(3, RngStream::Test), u.data(), u.size(), -1.0f, 3.0f);
  double mean = std::accumulate(u.begin(), u.end(), 0.0) / u.size();
  double var = 0;
  for (float x : u) var += (x - mean) * (x - mean);
  var /= u.size();
  EXPECT_NEAR(mean, 1.0, 0.02);           // (a+b)/2, sd of mean ~ 0.0026
  EXPECT_NEAR(var, 16.0 / 12.0, 0.02);    // (b-a)^2/12
  EXPECT_GE(*std::min_element(u.begin(), u.end()), -1.0f);
  EXPECT_LT(*std::max_element(u.begin(), u.end()), 3.0f);
}

TEST(Rng, NormalMomentsMatch) {
  std::vector<float> z(200000);
  rng_normal(rng_key(4, RngStream::Test), z.data(), z.size(), 2.0f, 0.5f);
  double mean = std::accumulate(z.begin(), z.end(), 0.0) / z.size();
  double var = 0, fourth = 0;
  for (float x : z) {
    var += (x - mean) * (x - mean);
    fourth += std::pow((x - mean) / 0.5, 4);
  }
  var /= z.size();
  fourth /= z.size();
  EXPECT_NEAR(mean, 2.0, 0.01);
  EXPECT_NEAR(var, 0.25, 0.005);
  EXPECT_NEAR(fourth, 3.0, 0.1);  // kurtosis of a normal
}

TEST(Rng, BernoulliRateMatches) {
  std::vector<uint8_t> m(100000);
  rng_bernoulli(rng_key(5, RngStream::Test), m.data(), m.size(), 0.3f);
  double rate = std::accumulate(m.begin(), m.end(), 0.0) / m.size();
  EXPECT_NEAR(rate, 0.3, 0.01);
}

TEST(Rng, RademacherIsBalancedSigns) {
  std::vector<float> r(100000);
  rng_rademacher(rng_key(6, RngStream::Test), r.data(), r.size());
  double sum = 0;
  for (float x : r) {
    ASSERT_TRUE(x == 1.0f || x == -1.0f);
    sum += x;
  }
  EXPECT_LT(std::abs(sum / r.size()), 0.015);
}

TEST(Rng, PermutationIsAPermutationAndDependsOnKey) {
  auto p = rng_permutation(rng_key(8, RngStream::Shuffle, 0), 1000);
  auto sorted = p;
  std::sort(sorted.begin(), sorted.end());
  for (int64_t i = 0; i < 1000; ++i) ASSERT_EQ(sorted[i], i);
  EXPECT_NE(p, rng_permutation(rng_key(8, RngStream::Shuffle, 1), 1000));
  EXPECT_EQ(p, rng_permutation(rng_key(8, RngStream::Shuffle, 0), 1000));
}

// Each swap draws a 32-bit index: at 2^32 elements the bound would wrap to 0 (a division by zero).
TEST(Rng, PermutationRefusesMoreElementsThanA32BitDrawReaches) {
  EXPECT_THROW(rng_permutation(rng_key(8, RngStream::Shuffle, 0), int64_t{1} << 32), InternalError);
  EXPECT_THROW(rng_permutation(rng_key(8, RngStream::Shuffle, 0), -1), InternalError);
}

TEST(Rng, NextBelowIsUniform) {
  RngSequence seq(rng_key(9, RngStream::Test));
  std::vector<int> counts(7, 0);
  for (int i = 0; i < 70000; ++i) counts[seq.next_below(7)]++;
  for (int c : counts) EXPECT_NEAR(c, 10000, 400);  // ~4 sd
}

}  // namespace
}  // namespace frugal
