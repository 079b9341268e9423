// Linear CPU kernels against a float64 naive-loop reference written here.
#include "ops/cpu/linear_cpu.h"

#include <gtest/gtest.h>
#include <omp.h>

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "tests/ops/reference_util.h"

namespace frugal {
namespace {

using test::max_relative_error;
using test::random_floats;
using test::to_double;

constexpr double kForwardTolerance = 1e-5;
constexpr double kBackwardTolerance = 1e-4;

struct LinearShape {
  std::string name;
  int64_t n, in, out;
};
// Names the shape in failure messages instead of dumping its bytes.
void PrintTo(const LinearShape& s, std::ostream* os) {
  *os << s.name << " [N=" << s.n << ", in=" << s.in << ", out=" << s.out << "]";
}

// --- Float64 reference: y[i, o] = b[o] + sum_k x[i, k] w[o, k]. -------------------------------------

std::vector<double> reference_forward(const LinearShape& s, const std::vector<double>& x,
                                      const std::vector<double>& w, const std::vector<double>& b) {
  std::vector<double> y(s.n * s.out);
  for (int64_t i = 0; i < s.n; ++i)
    for (int64_t o = 0; o < s.out; ++o) {
      double sum = b.empty() ? 0.0 : b[o];
      for (int64_t k = 0; k < s.in; ++k) sum += x[i * s.in + k] * w[o * s.in + k];
      y[i * s.out + o] = sum;
    }
  return y;
}

std::vector<double> reference_backward_data(const LinearShape& s, const std::vector<double>& dy,
                                            const std::vector<double>& w) {
  std::vector<double> dx(s.n * s.in, 0.0);
  for (int64_t i = 0; i < s.n; ++i)
    for (int64_t o = 0; o < s.out; ++o)
      for (int64_t k = 0; k < s.in; ++k) dx[i * s.in + k] += dy[i * s.out + o] * w[o * s.in + k];
  return dx;
}

std::vector<double> reference_backward_weight(const LinearShape& s, const std::vector<double>& x,
                                              const std::vector<double>& dy) {
  std::vector<double> dw(s.out * s.in, 0.0);
  for (int64_t i = 0; i < s.n; ++i)
    for (int64_t o = 0; o < s.out; ++o)
      for (int64_t k = 0; k < s.in; ++k) dw[o * s.in + k] += dy[i * s.out + o] * x[i * s.in + k];
  return dw;
}

std::vector<double> reference_backward_bias(const LinearShape& s, const std::vector<double>& dy) {
  std::vector<double> db(s.out, 0.0);
  for (int64_t i = 0; i < s.n; ++i)
    for (int64_t o = 0; o < s.out; ++o) db[o] += dy[i * s.out + o];
  return db;
}

// Random operands; outputs start as NaN so untouched entries fail the comparison.
struct LinearProblem {
  explicit LinearProblem(const LinearShape& shape, uint64_t seed = 5)
      : s(shape),
        x(random_floats(s.n * s.in, seed, 0)),
        w(random_floats(s.out * s.in, seed, 1)),
        bias(random_floats(s.out, seed, 2)),
        dy(random_floats(s.n * s.out, seed, 3)) {}
  LinearShape s;
  std::vector<float> x, w, bias, dy;
};

std::vector<float> nan_filled(int64_t n) { return std::vector<float>(n, std::nanf("")); }

// Sets the OpenMP thread count for one test and restores it afterwards.
class ThreadCountScope {
 public:
  explicit ThreadCountScope(int threads) : previous_(omp_get_max_threads()) {
    omp_set_num_threads(threads);
  }
  ~ThreadCountScope() { omp_set_num_threads(previous_); }

 private:
  int previous_;
};

// Each shape on one thread and on three (large shapes then split their GEMMs into per-thread blocks of
// rows or columns, with and without transposed operands).
class LinearCpuShapes : public ::testing::TestWithParam<std::tuple<LinearShape, int>> {
 protected:
  const LinearShape& s() const { return std::get<0>(GetParam()); }
  ThreadCountScope threads_{std::get<1>(GetParam())};
};

TEST_P(LinearCpuShapes, ForwardMatchesFloat64Reference) {
  LinearProblem p(s());
  std::vector<float> y = nan_filled(s().n * s().out);
  linear_forward_cpu(s().n, s().in, s().out, p.x.data(), p.w.data(), p.bias.data(), y.data());
  EXPECT_LT(
      max_relative_error(y, reference_forward(s(), to_double(p.x), to_double(p.w), to_double(p.bias))),
      kForwardTolerance);
}

TEST_P(LinearCpuShapes, ForwardWithoutBiasMatchesFloat64Reference) {
  LinearProblem p(s());
  std::vector<float> y = nan_filled(s().n * s().out);
  linear_forward_cpu(s().n, s().in, s().out, p.x.data(), p.w.data(), nullptr, y.data());
  EXPECT_LT(max_relative_error(y, reference_forward(s(), to_double(p.x), to_double(p.w), {})),
            kForwardTolerance);
}

TEST_P(LinearCpuShapes, BackwardDataMatchesFloat64Reference) {
  LinearProblem p(s());
  std::vector<float> dx = nan_filled(s().n * s().in);
  linear_backward_data_cpu(s().n, s().in, s().out, p.dy.data(), p.w.data(), dx.data());
  EXPECT_LT(max_relative_error(dx, reference_backward_data(s(), to_double(p.dy), to_double(p.w))),
            kBackwardTolerance);
}

TEST_P(LinearCpuShapes, BackwardWeightAndBiasMatchFloat64Reference) {
  LinearProblem p(s());
  std::vector<float> dw = nan_filled(s().out * s().in), db = nan_filled(s().out);
  linear_backward_weight_cpu(s().n, s().in, s().out, p.x.data(), p.dy.data(), dw.data(), db.data(),
                             false);
  EXPECT_LT(max_relative_error(dw, reference_backward_weight(s(), to_double(p.x), to_double(p.dy))),
            kBackwardTolerance);
  EXPECT_LT(max_relative_error(db, reference_backward_bias(s(), to_double(p.dy))), kBackwardTolerance);
}

TEST_P(LinearCpuShapes, BackwardWeightAccumulateAddsIntoExistingGradients) {
  LinearProblem p(s());
  const std::vector<float> dw_before = random_floats(s().out * s().in, 8);
  const std::vector<float> db_before = random_floats(s().out, 9);
  std::vector<float> dw = dw_before, db = db_before;
  linear_backward_weight_cpu(s().n, s().in, s().out, p.x.data(), p.dy.data(), dw.data(), db.data(),
                             true);
  std::vector<double> dw_ref = reference_backward_weight(s(), to_double(p.x), to_double(p.dy));
  std::vector<double> db_ref = reference_backward_bias(s(), to_double(p.dy));
  for (size_t i = 0; i < dw_ref.size(); ++i) dw_ref[i] += dw_before[i];
  for (size_t i = 0; i < db_ref.size(); ++i) db_ref[i] += db_before[i];
  EXPECT_LT(max_relative_error(dw, dw_ref), kBackwardTolerance);
  EXPECT_LT(max_relative_error(db, db_ref), kBackwardTolerance);
}

TEST_P(LinearCpuShapes, BackwardWeightWithoutBiasLeavesOnlyWeightGradient) {
  LinearProblem p(s());
  std::vector<float> dw = nan_filled(s().out * s().in);
  linear_backward_weight_cpu(s().n, s().in, s().out, p.x.data(), p.dy.data(), dw.data(), nullptr, false);
  EXPECT_LT(max_relative_error(dw, reference_backward_weight(s(), to_double(p.x), to_double(p.dy))),
            kBackwardTolerance);
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, LinearCpuShapes,
    ::testing::Combine(::testing::Values(LinearShape{"single_sample", 1, 7, 3},
                                         LinearShape{"odd_sizes", 5, 13, 11},
                                         LinearShape{"wider_than_block", 9, 33, 130},
                                         LinearShape{"mlp_layer", 64, 784, 100},
                                         LinearShape{"classifier_head", 128, 512, 10},
                                         LinearShape{"few_samples_wide_layer", 2, 1500, 1000},
                                         LinearShape{"many_samples_narrow_layer", 1024, 300, 40},
                                         LinearShape{"more_outputs_than_inputs", 32, 200, 1200}),
                       ::testing::Values(1, 3)),
    [](const auto& info) {
      return std::get<0>(info.param).name + "_threads" + std::to_string(std::get<1>(info.param));
    });

TEST(LinearCpu, ForwardComputesHandCheckedValues) {
  // x = [[1, 2]], w = [[1, 0], [2, -1], [0.5, 0.5]], b = [0, 1, -1]: y = [1, 1, 0.5].
  std::vector<float> x = {1, 2}, w = {1, 0, 2, -1, 0.5f, 0.5f}, b = {0, 1, -1}, y(3);
  linear_forward_cpu(1, 2, 3, x.data(), w.data(), b.data(), y.data());
  EXPECT_EQ(y, (std::vector<float>{1, 1, 0.5f}));
}

// The reference's backward passes are the gradients of L = sum(forward * r), by central differences.
TEST(LinearReference, BackwardPassesMatchCentralDifferencesOfTheForward) {
  const LinearShape s{"small", 3, 5, 4};
  LinearProblem p(s, 17);
  std::vector<double> x = to_double(p.x), w = to_double(p.w), b = to_double(p.bias), r = to_double(p.dy);
  auto loss = [&] {
    const std::vector<double> y = reference_forward(s, x, w, b);
    double sum = 0.0;
    for (size_t i = 0; i < y.size(); ++i) sum += y[i] * r[i];
    return sum;
  };
  auto check = [&](std::vector<double>& param, const std::vector<double>& analytic, const char* what) {
    const double h = 1e-3;
    for (size_t i = 0; i < param.size(); ++i) {
      const double saved = param[i];
      param[i] = saved + h;
      const double up = loss();
      param[i] = saved - h;
      const double down = loss();
      param[i] = saved;
      EXPECT_NEAR((up - down) / (2 * h), analytic[i], 1e-8) << what << "[" << i << "]";
    }
  };
  check(x, reference_backward_data(s, r, w), "dx");
  check(w, reference_backward_weight(s, x, r), "dw");
  check(b, reference_backward_bias(s, r), "db");
}

TEST(LinearCpu, RepeatedRunsAreBitIdentical) {
  ThreadCountScope threads(3);
  const LinearShape s{"large", 256, 1024, 512};  // big enough to split every GEMM over the threads
  LinearProblem p(s);
  auto run = [&] {
    std::vector<float> y(s.n * s.out), dx(s.n * s.in), dw(s.out * s.in), db(s.out);
    linear_forward_cpu(s.n, s.in, s.out, p.x.data(), p.w.data(), p.bias.data(), y.data());
    linear_backward_data_cpu(s.n, s.in, s.out, p.dy.data(), p.w.data(), dx.data());
    linear_backward_weight_cpu(s.n, s.in, s.out, p.x.data(), p.dy.data(), dw.data(), db.data(), false);
    return std::vector<std::vector<float>>{y, dx, dw, db};
  };
  const auto first = run();
  const auto second = run();
  for (size_t i = 0; i < first.size(); ++i)
    EXPECT_TRUE(test::bit_identical(first[i], second[i])) << "output " << i;
}

}  // namespace
}  // namespace frugal
