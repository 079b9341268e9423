// Feedback-matrix fills: deterministic per key whatever the threading, with the moments of the
// distribution they claim, and unrelated across keys and neighbouring elements.
#include <gtest/gtest.h>

#include <omp.h>

#include <cmath>
#include <vector>

#include "ops/cpu/feedback_fill_cpu.h"

namespace frugal {
namespace {

constexpr int64_t kN = 1 << 18;

std::vector<float> uniform(uint64_t key, int64_t n = kN, float bound = 1.0f) {
  std::vector<float> v(n);
  feedback_uniform_cpu(key, v.data(), n, bound);
  return v;
}

std::vector<float> normal(uint64_t key, int64_t n = kN) {
  std::vector<float> v(n);
  feedback_normal_cpu(key, v.data(), n, 1.0f);
  return v;
}

double mean(const std::vector<float>& v) {
  double s = 0;
  for (float x : v) s += x;
  return s / v.size();
}

double central_moment(const std::vector<float>& v, int k) {
  const double m = mean(v);
  double s = 0;
  for (float x : v) s += std::pow(x - m, k);
  return s / v.size();
}

double correlation(const float* a, const float* b, int64_t n) {
  double sa = 0, sb = 0, sab = 0, saa = 0, sbb = 0;
  for (int64_t i = 0; i < n; ++i) {
    sa += a[i], sb += b[i], sab += double(a[i]) * b[i], saa += double(a[i]) * a[i], sbb += double(b[i]) * b[i];
  }
  const double cov = sab / n - sa / n * sb / n;
  return cov / std::sqrt((saa / n - sa / n * sa / n) * (sbb / n - sb / n * sb / n));
}

TEST(FeedbackFill, IsAFunctionOfKeyAndIndexOnlyWhateverTheThreadCount) {
  const int threads = omp_get_max_threads();
  omp_set_num_threads(1);
  auto one = uniform(7), one_normal = normal(7);
  omp_set_num_threads(4);
  auto four = uniform(7), four_normal = normal(7);
  omp_set_num_threads(threads);
  EXPECT_EQ(one, four);
  EXPECT_EQ(one_normal, four_normal);
  // A shorter fill is a prefix of a longer one: element i never depends on n.
  auto prefix = uniform(7, 1001);
  EXPECT_TRUE(std::equal(prefix.begin(), prefix.end(), one.begin()));
  EXPECT_NE(uniform(8), one);
}

TEST(FeedbackFill, UniformStaysWithinTheBoundWithFlatHistogram) {
  const float bound = 0.25f;
  auto v = uniform(3, kN, bound);
  std::vector<int64_t> bins(16, 0);
  for (float x : v) {
    ASSERT_LE(std::abs(x), bound);
    ++bins[std::min<int64_t>(15, static_cast<int64_t>((x + bound) / (2 * bound) * 16))];
  }
  // Each bin holds n/16 give or take a few binomial standard deviations (sqrt(n/16) ~ 128).
  for (int64_t b : bins) EXPECT_NEAR(double(b), kN / 16.0, 6 * std::sqrt(kN / 16.0));
  EXPECT_NEAR(mean(v), 0.0, 4 * bound / std::sqrt(3.0 * kN));
  EXPECT_NEAR(central_moment(v, 2), bound * bound / 3, 0.01 * bound * bound / 3);
}

TEST(FeedbackFill, NormalHasGaussianMomentsAndTails) {
  auto v = normal(5);
  EXPECT_NEAR(mean(v), 0.0, 4 / std::sqrt(double(kN)));
  EXPECT_NEAR(central_moment(v, 2), 1.0, 0.01);
  EXPECT_NEAR(central_moment(v, 4), 3.0, 0.06);  // kurtosis of a Gaussian
  int64_t beyond2 = 0;
  for (float x : v) beyond2 += std::abs(x) > 2.0f;
  EXPECT_NEAR(double(beyond2) / kN, 0.0455, 0.003);
}

TEST(FeedbackFill, KeysAndNeighbouringElementsAreUncorrelated) {
  const double noise = 4 / std::sqrt(double(kN));  // four standard errors of a null correlation
  auto a = uniform(feedback_fill_key(1, 7, 0)), b = uniform(feedback_fill_key(1, 7, 1));
  auto c = uniform(feedback_fill_key(2, 7, 0));
  EXPECT_LT(std::abs(correlation(a.data(), b.data(), kN)), noise);
  EXPECT_LT(std::abs(correlation(a.data(), c.data(), kN)), noise);
  EXPECT_LT(std::abs(correlation(a.data(), a.data() + 1, kN - 1)), noise);  // lag 1: the two halves of a word
  EXPECT_LT(std::abs(correlation(a.data(), a.data() + 2, kN - 2)), noise);
  EXPECT_NE(feedback_fill_key(1, 7, 0), feedback_fill_key(7, 1, 0));
  EXPECT_NE(feedback_fill_key(1, 0, 7), feedback_fill_key(1, 7, 0));
}

}  // namespace
}  // namespace frugal
