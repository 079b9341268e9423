// The bias-gradient store the CUDA kernel runs (ops/bias_grad_math.h) after its double channel sums,
// held against the CPU kernel (both of its summation layouts: long runs and short ones) with and
// without accumulating, and the sums against float64.
#include "ops/bias_grad_math.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "ops/cpu/bias_grad.h"
#include "tests/ops/reference_util.h"

namespace frugal {
namespace {

using test::max_relative_error;  // max |got - want| / max |want|; NaN fails
using test::to_double;

constexpr double kElementwiseTolerance = 1e-6;
constexpr double kReductionTolerance = 1e-4;

struct Shape {
  int64_t batch, channels, spatial;
};
// Linear layers (spatial 1), small images (short runs) and long runs with a remainder.
const Shape kShapes[] = {{7, 10, 1}, {128, 33, 1}, {3, 5, 16}, {2, 3, 49}, {4, 6, 67}, {3, 2, 1024}};

TEST(BiasGradMath, MatchesTheCpuKernelAndFloat64) {
  for (const Shape& sh : kShapes)
    for (bool accumulate : {false, true}) {
      const std::vector<float> dy = test::random_floats(sh.batch * sh.channels * sh.spatial, 71, sh.spatial);
      const std::vector<float> start = test::random_floats(sh.channels, 72, sh.spatial);
      std::vector<float> cpu = start, shared = start;
      std::vector<double> reference(sh.channels, 0.0);
      bias_gradient_cpu(sh.batch, sh.channels, sh.spatial, dy.data(), cpu.data(), accumulate);
      for (int64_t c = 0; c < sh.channels; ++c) {
        double sum = 0.0;
        for (int64_t b = 0; b < sh.batch; ++b)
          for (int64_t s = 0; s < sh.spatial; ++s) sum += dy[(b * sh.channels + c) * sh.spatial + s];
        shared[c] = bias_grad_value(sum, shared[c], accumulate);
        reference[c] = sum + (accumulate ? start[c] : 0.0);
      }
      const std::string what = std::to_string(sh.batch) + "x" + std::to_string(sh.channels) + "x" +
                               std::to_string(sh.spatial) + (accumulate ? " accumulate" : "");
      EXPECT_LT(max_relative_error(shared, to_double(cpu)), kElementwiseTolerance) << what;
      EXPECT_LT(max_relative_error(shared, reference), kReductionTolerance) << what;
    }
}

}  // namespace
}  // namespace frugal
