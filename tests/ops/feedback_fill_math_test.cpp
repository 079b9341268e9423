// The shared host/device feedback-matrix arithmetic (ops/feedback_fill.h) that the CUDA kernels run,
// pair by pair, held against the CPU fills: the same matrix from the same key, odd lengths included.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "ops/cpu/feedback_fill_cpu.h"
#include "ops/feedback_fill.h"
#include "tests/ops/reference_util.h"

namespace frugal {
namespace {

using test::max_relative_error;  // max |got - want| / max |want|; NaN fails
using test::to_double;

constexpr double kElementwiseTolerance = 1e-6;

// Fills out[0, n) pair by pair with fill(key, pair, v0, v1), as the CUDA kernel's threads do.
template <class Fill>
std::vector<float> shared_fill(int64_t n, const Fill& fill) {
  std::vector<float> out(static_cast<size_t>(n));
  for (int64_t pair = 0; pair < (n + 1) / 2; ++pair) {
    float v0, v1;
    fill(pair, v0, v1);
    out[2 * pair] = v0;
    if (2 * pair + 1 < n) out[2 * pair + 1] = v1;
  }
  return out;
}

TEST(FeedbackFillMath, UniformAndNormalPairsMatchTheCpuFills) {
  const uint64_t key = feedback_fill_key(3, 7, 11);
  for (int64_t n : {1, 2, 7, 4097}) {
    std::vector<float> uniform(n), normal(n);
    feedback_uniform_cpu(key, uniform.data(), n, 0.3f);
    feedback_normal_cpu(key, normal.data(), n, 0.05f);
    const std::vector<float> shared_uniform =
        shared_fill(n, [&](int64_t p, float& a, float& b) { feedback_fill::uniform_pair(key, p, 0.3f, a, b); });
    const std::vector<float> shared_normal =
        shared_fill(n, [&](int64_t p, float& a, float& b) { feedback_fill::normal_pair(key, p, 0.05f, a, b); });
    EXPECT_LT(max_relative_error(shared_uniform, to_double(uniform)), kElementwiseTolerance) << "n=" << n;
    EXPECT_LT(max_relative_error(shared_normal, to_double(normal)), kElementwiseTolerance) << "n=" << n;
  }
}

}  // namespace
}  // namespace frugal
