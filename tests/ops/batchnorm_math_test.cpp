// The shared host/device batch-norm arithmetic (ops/batchnorm_math.h) that the CUDA kernels run, put
// together here as the CUDA kernels put it (per-channel double sums, then the per-channel finish, then
// the elementwise pass) and held against the CPU kernels on random inputs: outputs elementwise, the
// per-channel sums against a float64 reference.
#include "ops/batchnorm_math.h"

#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "core/rng.h"
#include "ops/cpu/batchnorm_cpu.h"
#include "tests/ops/reference_util.h"

namespace frugal {
namespace {

namespace bm = bn_math;
using test::max_relative_error;  // max |got - want| / max |want|; NaN fails
using test::to_double;

constexpr double kElementwiseTolerance = 1e-6;
constexpr double kReductionTolerance = 1e-4;
constexpr float kEps = 1e-5f, kMomentum = 0.1f;

struct BnShape {
  int64_t n, c, s;
  int64_t numel() const { return n * c * s; }
  int64_t at(int64_t i, int64_t ch, int64_t j) const { return (i * c + ch) * s + j; }
  std::string str() const { return std::to_string(n) + "x" + std::to_string(c) + "x" + std::to_string(s); }
};
// Odd sizes, BatchNorm1d (S = 1), one sample with S > 1, runs longer than the CPU's 32 summation lanes.
const BnShape kShapes[] = {{2, 3, 5}, {4, 2, 1}, {1, 3, 7}, {3, 4, 9}, {3, 2, 71}, {8, 3, 256}};

std::vector<float> normal(size_t n, uint64_t step, float mean = 0.0f, float stddev = 1.0f) {
  std::vector<float> v(n);
  rng_normal(rng_key(23, RngStream::Test, step), v.data(), n, mean, stddev);
  return v;
}

// x with channel 0 far from zero (|mean| >> std), where the shifted sums matter.
std::vector<float> input(const BnShape& sh, uint64_t step) {
  std::vector<float> x = normal(static_cast<size_t>(sh.numel()), step, 0.5f, 2.0f);
  for (int64_t i = 0; i < sh.n; ++i)
    for (int64_t j = 0; j < sh.s; ++j) x[sh.at(i, 0, j)] = 300.0f + 0.5f * x[sh.at(i, 0, j)];
  return x;
}

// Sums of a(at) and b(at) over channel ch, in double, in run order.
template <class A, class B>
void channel_sums(const BnShape& sh, int64_t ch, const A& a, const B& b, double& sa, double& sb) {
  sa = sb = 0.0;
  for (int64_t i = 0; i < sh.n; ++i)
    for (int64_t j = 0; j < sh.s; ++j) {
      sa += a(sh.at(i, ch, j));
      sb += b(sh.at(i, ch, j));
    }
}

struct TrainOut {
  std::vector<float> y, mean, invstd, running_mean, running_var;
};

TrainOut shared_forward_train(const BnShape& sh, const std::vector<float>& x, const float* gamma, const float* beta,
                              bool relu) {
  TrainOut o{std::vector<float>(x.size()), std::vector<float>(sh.c), std::vector<float>(sh.c),
             std::vector<float>(sh.c, 0.25f), std::vector<float>(sh.c, 2.0f)};
  const int64_t m = sh.n * sh.s;
  for (int64_t ch = 0; ch < sh.c; ++ch) {
    const double shift = x[ch * sh.s];
    double sum, sum_sq;
    channel_sums(
        sh, ch, [&](int64_t at) { return bm::shifted(x[at], shift); },
        [&](int64_t at) { return bm::shifted(x[at], shift) * bm::shifted(x[at], shift); }, sum, sum_sq);
    bm::train_statistics(bm::moments(sum, sum_sq, shift, m), m, kEps, kMomentum, &o.running_mean[ch],
                         &o.running_var[ch], &o.mean[ch], &o.invstd[ch]);
    const float scale = bm::train_scale(gamma, ch, o.invstd[ch]), offset = bm::offset(beta, ch);
    for (int64_t i = 0; i < sh.n; ++i)
      for (int64_t j = 0; j < sh.s; ++j)
        o.y[sh.at(i, ch, j)] = bm::normalize(x[sh.at(i, ch, j)], o.mean[ch], scale, offset, relu);
  }
  return o;
}

TrainOut cpu_forward_train(const BnShape& sh, const std::vector<float>& x, const float* gamma, const float* beta,
                           bool relu) {
  TrainOut o{std::vector<float>(x.size()), std::vector<float>(sh.c), std::vector<float>(sh.c),
             std::vector<float>(sh.c, 0.25f), std::vector<float>(sh.c, 2.0f)};
  batchnorm_forward_train_cpu(sh.n, sh.c, sh.s, x.data(), gamma, beta, kEps, kMomentum, o.running_mean.data(),
                              o.running_var.data(), o.y.data(), o.mean.data(), o.invstd.data(), relu);
  return o;
}

TEST(BatchNormMath, TrainingForwardMatchesTheCpuKernel) {
  for (const BnShape& sh : kShapes)
    for (bool affine : {true, false})
      for (bool relu : {false, true}) {
        const std::vector<float> x = input(sh, 1), gamma = normal(sh.c, 2, 1.0f, 0.5f), beta = normal(sh.c, 3);
        const float* g = affine ? gamma.data() : nullptr;
        const float* b = affine ? beta.data() : nullptr;
        const TrainOut shared = shared_forward_train(sh, x, g, b, relu), cpu = cpu_forward_train(sh, x, g, b, relu);
        const std::string what = sh.str() + (affine ? " affine" : "") + (relu ? " relu" : "");
        EXPECT_LT(max_relative_error(shared.y, to_double(cpu.y)), kElementwiseTolerance) << what;
        EXPECT_LT(max_relative_error(shared.mean, to_double(cpu.mean)), kElementwiseTolerance) << what;
        EXPECT_LT(max_relative_error(shared.invstd, to_double(cpu.invstd)), kElementwiseTolerance) << what;
        EXPECT_LT(max_relative_error(shared.running_mean, to_double(cpu.running_mean)), kElementwiseTolerance) << what;
        EXPECT_LT(max_relative_error(shared.running_var, to_double(cpu.running_var)), kElementwiseTolerance) << what;
      }
}

TEST(BatchNormMath, TrainingStatisticsMatchFloat64) {
  for (const BnShape& sh : kShapes) {
    const std::vector<float> x = input(sh, 4);
    const TrainOut shared = shared_forward_train(sh, x, nullptr, nullptr, false);
    std::vector<double> mean(sh.c, 0.0), invstd(sh.c, 0.0);
    const double m = static_cast<double>(sh.n * sh.s);
    for (int64_t ch = 0; ch < sh.c; ++ch) {
      double sum = 0.0, sq = 0.0;
      for (int64_t i = 0; i < sh.n; ++i)
        for (int64_t j = 0; j < sh.s; ++j) sum += x[sh.at(i, ch, j)];
      mean[ch] = sum / m;
      for (int64_t i = 0; i < sh.n; ++i)
        for (int64_t j = 0; j < sh.s; ++j) sq += std::pow(x[sh.at(i, ch, j)] - mean[ch], 2);
      invstd[ch] = 1.0 / std::sqrt(sq / m + kEps);
    }
    EXPECT_LT(max_relative_error(shared.mean, mean), kReductionTolerance) << sh.str();
    EXPECT_LT(max_relative_error(shared.invstd, invstd), kReductionTolerance) << sh.str();
  }
}

TEST(BatchNormMath, InferenceForwardMatchesTheCpuKernel) {
  for (const BnShape& sh : kShapes)
    for (bool affine : {true, false})
      for (bool relu : {false, true}) {
        const std::vector<float> x = input(sh, 5), gamma = normal(sh.c, 6, 1.0f, 0.5f), beta = normal(sh.c, 7);
        const std::vector<float> rmean = normal(sh.c, 8), rvar = test::random_floats(sh.c, 23, 9, 0.1f, 3.0f);
        const float* g = affine ? gamma.data() : nullptr;
        const float* b = affine ? beta.data() : nullptr;
        std::vector<float> cpu(x.size()), shared(x.size());
        batchnorm_forward_eval_cpu(sh.n, sh.c, sh.s, x.data(), g, b, kEps, rmean.data(), rvar.data(), cpu.data(), relu);
        for (int64_t i = 0; i < sh.n; ++i)
          for (int64_t ch = 0; ch < sh.c; ++ch)
            for (int64_t j = 0; j < sh.s; ++j)
              shared[sh.at(i, ch, j)] = bm::normalize(x[sh.at(i, ch, j)], rmean[ch],
                                                      bm::eval_scale(g, ch, rvar[ch], kEps), bm::offset(b, ch), relu);
        EXPECT_LT(max_relative_error(shared, to_double(cpu)), kElementwiseTolerance) << sh.str();
      }
}

struct BackwardOut {
  std::vector<float> dx, dgamma, dbeta;
};

// The CUDA backward's arithmetic: x_shift / x_scale per channel (null: 0 and 1), dy_of(ch, at) the
// incoming gradient.
template <class DyOf>
BackwardOut shared_backward(const BnShape& sh, const std::vector<float>& x, const float* x_shift, const float* x_scale,
                            const DyOf& dy_of, const float* gamma, const std::vector<float>& invstd, BackwardOut start,
                            bool accumulate) {
  const int64_t m = sh.n * sh.s;
  for (int64_t ch = 0; ch < sh.c; ++ch) {
    const float shift = x_shift ? x_shift[ch] : 0.0f, scale = x_scale ? x_scale[ch] : 1.0f;
    double sum_dy, sum_dy_xhat;
    channel_sums(
        sh, ch, [&](int64_t at) { return bm::grad_term_dy(dy_of(ch, at)); },
        [&](int64_t at) { return bm::grad_term_dy_xhat(x[at], shift, scale, dy_of(ch, at)); }, sum_dy, sum_dy_xhat);
    start.dbeta[ch] = bm::param_grad(sum_dy, &start.dbeta[ch], accumulate);
    start.dgamma[ch] = bm::param_grad(sum_dy_xhat, &start.dgamma[ch], accumulate);
    const bm::BackwardCoefficients k = bm::backward_coefficients(sum_dy, sum_dy_xhat, m, gamma, ch, invstd[ch]);
    for (int64_t i = 0; i < sh.n; ++i)
      for (int64_t j = 0; j < sh.s; ++j) {
        const int64_t at = sh.at(i, ch, j);
        start.dx[at] = bm::backward_dx(k, x[at], shift, scale, dy_of(ch, at));
      }
  }
  return start;
}

BackwardOut random_start(const BnShape& sh, bool accumulate) {
  return {std::vector<float>(static_cast<size_t>(sh.numel())), accumulate ? normal(sh.c, 30) : std::vector<float>(sh.c),
          accumulate ? normal(sh.c, 31) : std::vector<float>(sh.c)};
}

void expect_backward_close(const BackwardOut& shared, const BackwardOut& cpu, const std::string& what) {
  EXPECT_LT(max_relative_error(shared.dx, to_double(cpu.dx)), kElementwiseTolerance) << what;
  EXPECT_LT(max_relative_error(shared.dgamma, to_double(cpu.dgamma)), kElementwiseTolerance) << what;
  EXPECT_LT(max_relative_error(shared.dbeta, to_double(cpu.dbeta)), kElementwiseTolerance) << what;
}

TEST(BatchNormMath, BackwardMatchesTheCpuKernelWithAndWithoutAccumulating) {
  for (const BnShape& sh : kShapes)
    for (bool accumulate : {false, true}) {
      const std::vector<float> x = input(sh, 10), dy = normal(static_cast<size_t>(sh.numel()), 11);
      const std::vector<float> gamma = normal(sh.c, 12, 1.0f, 0.5f);
      const TrainOut f = cpu_forward_train(sh, x, gamma.data(), nullptr, false);
      BackwardOut cpu = random_start(sh, accumulate);
      batchnorm_backward_cpu(sh.n, sh.c, sh.s, x.data(), dy.data(), gamma.data(), f.mean.data(), f.invstd.data(),
                             cpu.dx.data(), cpu.dgamma.data(), cpu.dbeta.data(), accumulate);
      const BackwardOut shared = shared_backward(
          sh, x, f.mean.data(), f.invstd.data(), [&](int64_t, int64_t at) { return dy[at]; }, gamma.data(), f.invstd,
          random_start(sh, accumulate), accumulate);
      expect_backward_close(shared, cpu, sh.str() + (accumulate ? " accumulate" : ""));
    }
}

TEST(BatchNormMath, BackwardParameterGradientsMatchFloat64) {
  for (const BnShape& sh : kShapes) {
    const std::vector<float> x = input(sh, 13), dy = normal(static_cast<size_t>(sh.numel()), 14);
    const TrainOut f = cpu_forward_train(sh, x, nullptr, nullptr, false);
    const BackwardOut shared = shared_backward(
        sh, x, f.mean.data(), f.invstd.data(), [&](int64_t, int64_t at) { return dy[at]; }, nullptr, f.invstd,
        random_start(sh, false), false);
    std::vector<double> dgamma(sh.c, 0.0), dbeta(sh.c, 0.0);
    for (int64_t i = 0; i < sh.n; ++i)
      for (int64_t ch = 0; ch < sh.c; ++ch)
        for (int64_t j = 0; j < sh.s; ++j) {
          const int64_t at = sh.at(i, ch, j);
          dbeta[ch] += dy[at];
          dgamma[ch] += static_cast<double>(dy[at]) * (x[at] - static_cast<double>(f.mean[ch])) * f.invstd[ch];
        }
    EXPECT_LT(max_relative_error(shared.dbeta, dbeta), kReductionTolerance) << sh.str();
    EXPECT_LT(max_relative_error(shared.dgamma, dgamma), kReductionTolerance) << sh.str();
  }
}

TEST(BatchNormMath, BackwardFromXhatMatchesTheCpuKernel) {
  for (const BnShape& sh : kShapes)
    for (bool accumulate : {false, true}) {
      const std::vector<float> x = input(sh, 15), dy = normal(static_cast<size_t>(sh.numel()), 16);
      const std::vector<float> gamma = normal(sh.c, 17, 1.0f, 0.5f);
      const TrainOut f = cpu_forward_train(sh, x, nullptr, nullptr, false);  // y = xhat
      BackwardOut cpu = random_start(sh, accumulate);
      batchnorm_backward_from_xhat_cpu(sh.n, sh.c, sh.s, f.y.data(), dy.data(), gamma.data(), f.invstd.data(),
                                       cpu.dx.data(), cpu.dgamma.data(), cpu.dbeta.data(), accumulate);
      const BackwardOut shared = shared_backward(
          sh, f.y, nullptr, nullptr, [&](int64_t, int64_t at) { return dy[at]; }, gamma.data(), f.invstd,
          random_start(sh, accumulate), accumulate);
      expect_backward_close(shared, cpu, sh.str() + (accumulate ? " accumulate" : ""));
    }
}

TEST(BatchNormMath, FusedReluBackwardMatchesTheCpuKernel) {
  for (const BnShape& sh : kShapes)
    for (bool affine : {true, false}) {
      const std::vector<float> x = input(sh, 18), dz = normal(static_cast<size_t>(sh.numel()), 19);
      const std::vector<float> gamma = normal(sh.c, 20, 1.0f, 0.5f), beta = normal(sh.c, 21, 0.2f, 0.5f);
      const float* g = affine ? gamma.data() : nullptr;
      const float* b = affine ? beta.data() : nullptr;
      const TrainOut f = cpu_forward_train(sh, x, g, b, true);
      BackwardOut cpu = random_start(sh, false);
      batchnorm_relu_backward_cpu(sh.n, sh.c, sh.s, x.data(), dz.data(), g, b, f.mean.data(), f.invstd.data(),
                                  cpu.dx.data(), cpu.dgamma.data(), cpu.dbeta.data());
      auto masked = [&](int64_t ch, int64_t at) {
        return bm::relu_masked(x[at], f.mean[ch], bm::train_scale(g, ch, f.invstd[ch]), bm::offset(b, ch), dz[at]);
      };
      const BackwardOut shared =
          shared_backward(sh, x, f.mean.data(), f.invstd.data(), masked, g, f.invstd, random_start(sh, false), false);
      expect_backward_close(shared, cpu, sh.str() + (affine ? " affine" : ""));
    }
}

TEST(BatchNormMath, FusedReluMaskIsExactlyWhereTheForwardOutputIsPositive) {
  const BnShape sh{4, 3, 33};
  const std::vector<float> x = input(sh, 22), gamma = normal(sh.c, 23), beta = normal(sh.c, 24);
  const TrainOut f = cpu_forward_train(sh, x, gamma.data(), beta.data(), true);
  for (int64_t i = 0; i < sh.n; ++i)
    for (int64_t ch = 0; ch < sh.c; ++ch)
      for (int64_t j = 0; j < sh.s; ++j) {
        const int64_t at = sh.at(i, ch, j);
        const float passed = bm::relu_masked(x[at], f.mean[ch], bm::train_scale(gamma.data(), ch, f.invstd[ch]),
                                             bm::offset(beta.data(), ch), 1.0f);
        ASSERT_EQ(passed, f.y[at] > 0.0f ? 1.0f : 0.0f) << at;
      }
}

}  // namespace
}  // namespace frugal
