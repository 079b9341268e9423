// The shared conv/linear bias gradient against a float64 sum: long runs (lanes per channel, with a
// remainder), short runs of small images and linear layers (column blocks, more channels than one
// block), batch 1, accumulate, and the same bits on 1 and 3 threads.
#include "ops/cpu/bias_grad.h"

#include <gtest/gtest.h>
#include <omp.h>

#include <string>
#include <vector>

#include "tests/ops/reference_util.h"

namespace frugal {
namespace {

using test::max_relative_error;
using test::random_floats;

struct BiasShape {
  std::string name;
  int64_t batch, channels, spatial;
};
void PrintTo(const BiasShape& s, std::ostream* os) { *os << s.name; }

std::vector<double> reference_sums(const BiasShape& s, const std::vector<float>& dy) {
  std::vector<double> db(s.channels, 0.0);
  for (int64_t n = 0; n < s.batch; ++n)
    for (int64_t c = 0; c < s.channels; ++c)
      for (int64_t i = 0; i < s.spatial; ++i) db[c] += dy[(n * s.channels + c) * s.spatial + i];
  return db;
}

class BiasGradient : public ::testing::TestWithParam<BiasShape> {
 protected:
  const BiasShape& s() const { return GetParam(); }
  std::vector<float> dy_ = random_floats(s().batch * s().channels * s().spatial, 9, 0);

  std::vector<float> run(int threads, bool accumulate, const std::vector<float>& db_before) {
    const int previous = omp_get_max_threads();
    omp_set_num_threads(threads);
    std::vector<float> db = db_before;
    bias_gradient_cpu(s().batch, s().channels, s().spatial, dy_.data(), db.data(), accumulate);
    omp_set_num_threads(previous);
    return db;
  }
};

TEST_P(BiasGradient, OverwritesWithFloat64Sums) {
  const std::vector<float> db = run(1, false, std::vector<float>(s().channels, std::nanf("")));
  EXPECT_LT(max_relative_error(db, reference_sums(s(), dy_)), 1e-6);
}

TEST_P(BiasGradient, AccumulatesIntoDb) {
  const std::vector<float> before = random_floats(s().channels, 9, 1);
  std::vector<double> ref = reference_sums(s(), dy_);
  for (size_t c = 0; c < ref.size(); ++c) ref[c] += before[c];
  EXPECT_LT(max_relative_error(run(1, true, before), ref), 1e-6);
}

TEST_P(BiasGradient, SameBitsOnOneAndThreeThreads) {
  const std::vector<float> zeros(s().channels, 0.0f);
  EXPECT_EQ(run(1, false, zeros), run(3, false, zeros));
}

INSTANTIATE_TEST_SUITE_P(Shapes, BiasGradient,
                         ::testing::Values(BiasShape{"conv_10x10_planes_lane_remainder", 3, 5, 100},
                                           BiasShape{"conv_batch1_32x32", 1, 16, 1024},
                                           BiasShape{"conv_7x7_planes_two_column_blocks", 5, 13,
                                                     49},
                                           BiasShape{"conv_2x2_planes", 6, 70, 4},
                                           BiasShape{"linear_two_column_blocks", 33, 530, 1},
                                           BiasShape{"linear_one_output", 7, 1, 1}),
                         [](const auto& info) { return info.param.name; });

}  // namespace
}  // namespace frugal
