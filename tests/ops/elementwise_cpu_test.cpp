// Elementwise kernels against float64 sums and products, including the aliasing the callers rely on.
#include "ops/cpu/elementwise_cpu.h"

#include <gtest/gtest.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/rng.h"
#include "tests/ops/reference_util.h"

namespace frugal {
namespace {

using test::max_relative_error;  // max |got - want| / max |want|; NaN fails

std::vector<float> random_floats(size_t n, uint64_t step) {
  std::vector<float> v(n);
  rng_normal(rng_key(61, RngStream::Test, step), v.data(), n);
  return v;
}

const int64_t kSizes[] = {1, 7, 1000, 1 << 17};  // the last runs in parallel

TEST(ElementwiseCpu, AddMatchesFloat64Sum) {
  for (int64_t n : kSizes) {
    const std::vector<float> a = random_floats(n, 1), b = random_floats(n, 2);
    std::vector<float> y(n);
    std::vector<double> want(n);
    add_cpu(n, a.data(), b.data(), y.data());
    for (int64_t i = 0; i < n; ++i) want[i] = static_cast<double>(a[i]) + b[i];
    EXPECT_LT(max_relative_error(y, want), 1e-6) << "n=" << n;
  }
}

TEST(ElementwiseCpu, AddMayWriteOverEitherInput) {
  const int64_t n = 333;
  const std::vector<float> a = random_floats(n, 3), b = random_floats(n, 4);
  std::vector<float> y(n), over_a = a, over_b = b;
  add_cpu(n, a.data(), b.data(), y.data());
  add_cpu(n, over_a.data(), b.data(), over_a.data());
  add_cpu(n, a.data(), over_b.data(), over_b.data());
  EXPECT_EQ(over_a, y);
  EXPECT_EQ(over_b, y);
}

TEST(ElementwiseCpu, AddInplaceAccumulates) {
  for (int64_t n : kSizes) {
    const std::vector<float> x = random_floats(n, 5);
    std::vector<float> y = random_floats(n, 6);
    std::vector<double> want(y.begin(), y.end());
    for (int64_t i = 0; i < n; ++i) want[i] += x[i];
    add_inplace_cpu(n, y.data(), x.data());
    EXPECT_LT(max_relative_error(y, want), 1e-6) << "n=" << n;
  }
}

TEST(ElementwiseCpu, ScaleMultipliesEveryElement) {
  for (int64_t n : kSizes) {
    const std::vector<float> x = random_floats(n, 7);
    std::vector<float> y(n);
    std::vector<double> want(n);
    scale_cpu(n, -2.5f, x.data(), y.data());
    for (int64_t i = 0; i < n; ++i) want[i] = -2.5 * x[i];
    EXPECT_LT(max_relative_error(y, want), 1e-6) << "n=" << n;
    scale_cpu(n, -2.5f, y.data(), y.data());  // in place
    for (int64_t i = 0; i < n; ++i) want[i] *= -2.5;
    EXPECT_LT(max_relative_error(y, want), 1e-6) << "n=" << n;
  }
}

TEST(ElementwiseCpu, CopyDuplicatesExactly) {
  for (int64_t n : kSizes) {  // the largest copies in blocks over threads
    const std::vector<float> x = random_floats(n, 8);
    std::vector<float> y(n, 0.0f);
    copy_cpu(n, x.data(), y.data());
    EXPECT_EQ(y, x) << "n=" << n;
  }
  copy_cpu(0, nullptr, nullptr);  // empty copy touches nothing
}

TEST(ElementwiseCpu, CopyToTwoFillsEachGivenOutput) {
  for (int64_t n : kSizes) {
    const std::vector<float> x = random_floats(n, 11);
    std::vector<float> a(n, 0.0f), b(n, 0.0f);
    copy_to_two_cpu(n, x.data(), a.data(), b.data());
    EXPECT_EQ(a, x) << "n=" << n;
    EXPECT_EQ(b, x) << "n=" << n;
    std::vector<float> only(n, 0.0f);
    copy_to_two_cpu(n, x.data(), nullptr, only.data());
    EXPECT_EQ(only, x) << "n=" << n;
  }
}

TEST(ElementwiseCpu, OutputsAreBitIdenticalAcrossThreadCounts) {
  const int64_t n = 1 << 18;
  const std::vector<float> a = random_floats(n, 9), b = random_floats(n, 10);
  auto run = [&](int threads) {
    const int before = omp_get_max_threads();
    omp_set_num_threads(threads);
    std::vector<float> y(n), z = a;
    add_cpu(n, a.data(), b.data(), y.data());
    add_inplace_cpu(n, z.data(), b.data());
    scale_cpu(n, 0.3f, z.data(), z.data());
    omp_set_num_threads(before);
    y.insert(y.end(), z.begin(), z.end());
    return y;
  };
  const std::vector<float> once = run(1);
  EXPECT_EQ(once, run(2));
}

}  // namespace
// The folded Add + ReLU against the two kernels they replace (ReLU written as the layer writes it).
TEST(ElementwiseCpu, AddReluAndItsBackwardEqualTheUnfoldedPair) {
  for (int64_t n : kSizes) {
    const std::vector<float> a = random_floats(n, 20), b = random_floats(n, 21), dz = random_floats(n, 22);
    std::vector<float> sum(n), z(n), folded(n);
    add_cpu(n, a.data(), b.data(), sum.data());
    for (int64_t i = 0; i < n; ++i) z[i] = sum[i] < 0.0f ? 0.0f : sum[i];
    add_relu_cpu(n, a.data(), b.data(), folded.data());
    EXPECT_EQ(folded, z);
    std::vector<float> dy(n), ga(n, 9.0f), gb(n, 9.0f), only(n, 9.0f);
    for (int64_t i = 0; i < n; ++i) dy[i] = z[i] > 0.0f ? dz[i] : 0.0f;
    relu_grad_to_two_cpu(n, z.data(), dz.data(), ga.data(), gb.data());
    EXPECT_EQ(ga, dy);
    EXPECT_EQ(gb, dy);
    relu_grad_to_two_cpu(n, z.data(), dz.data(), nullptr, only.data());
    EXPECT_EQ(only, dy);
  }
}

}  // namespace frugal
