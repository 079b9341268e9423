// The shared host/device dropout arithmetic (ops/dropout_math.h) that the CUDA kernels run, held
// against the CPU kernels: the same mask from the same key (the counter-based RNG gives both devices
// the same stream), the same outputs and gradients.
#include "ops/dropout_math.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/rng.h"
#include "ops/cpu/dropout_cpu.h"
#include "tests/ops/reference_util.h"

namespace frugal {
namespace {

namespace dm = dropout_math;
using test::max_relative_error;  // max |got - want| / max |want|; NaN fails
using test::to_double;

constexpr double kElementwiseTolerance = 1e-6;

TEST(DropoutMath, MaskAndOutputsMatchTheCpuKernelForEveryProbability) {
  const RngKey key = rng_key(61, RngStream::Dropout, 5);
  for (int64_t n : {1, 3, 4, 1001})
    for (float p : {0.0f, 0.1f, 0.5f, 0.9f, 1.0f}) {
      const std::vector<float> x = test::random_floats(n, 62, n), dy = test::random_floats(n, 63, n);
      std::vector<float> cpu_y(n), cpu_dx(n), shared_y(n), shared_dx(n);
      std::vector<uint8_t> cpu_mask(n), shared_mask(n);
      dropout_forward_cpu(n, p, key, x.data(), cpu_y.data(), cpu_mask.data());
      dropout_backward_cpu(n, p, dy.data(), cpu_mask.data(), cpu_dx.data());
      const float scale = dm::keep_scale(p);
      const uint64_t philox = philox_key(key.seed, key.stream);
      for (int64_t b = 0; b < (n + 3) / 4; ++b) {
        uint8_t m[4];
        dm::mask_block(philox, key.step, static_cast<uint64_t>(b), 1.0f - p, m);
        for (int j = 0; j < 4 && 4 * b + j < n; ++j) shared_mask[4 * b + j] = m[j];
      }
      for (int64_t i = 0; i < n; ++i) {
        shared_y[i] = dm::apply(shared_mask[i], x[i], scale);
        shared_dx[i] = dm::apply(shared_mask[i], dy[i], scale);
      }
      const std::string what = "n=" + std::to_string(n) + " p=" + std::to_string(p);
      EXPECT_EQ(shared_mask, cpu_mask) << what;
      EXPECT_LT(max_relative_error(shared_y, to_double(cpu_y)), kElementwiseTolerance) << what;
      EXPECT_LT(max_relative_error(shared_dx, to_double(cpu_dx)), kElementwiseTolerance) << what;
    }
}

}  // namespace
}  // namespace frugal
