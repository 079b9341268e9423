// Batch-norm kernels against an independent float64 reference; backward against central finite
// differences of that reference.
#include "ops/cpu/batchnorm_cpu.h"

#include <gtest/gtest.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <vector>

#include "core/error.h"
#include "core/rng.h"
#include "ops/activation.h"
#include "ops/cpu/activation_cpu.h"
#include "tests/ops/reference_util.h"

namespace frugal {
namespace {

using test::max_relative_error;  // max |got - want| / max |want|; NaN fails
using test::to_double;

struct BnShape {
  int64_t n, c, s;
  int64_t numel() const { return n * c * s; }
};
// Odd sizes, BatchNorm1d (S = 1), a single sample with S > 1, and runs longer than the kernels' 32
// summation lanes with a remainder.
const BnShape kShapes[] = {{2, 3, 5}, {4, 2, 1}, {1, 3, 7}, {3, 4, 9}, {3, 2, 71}};
constexpr float kEps = 1e-5f;

std::vector<float> random_floats(size_t n, uint64_t step, float mean = 0.0f, float stddev = 1.0f) {
  std::vector<float> v(n);
  rng_normal(rng_key(11, RngStream::Test, step), v.data(), n, mean, stddev);
  return v;
}

std::vector<double> numeric_gradient(const std::function<double(const std::vector<double>&)>& f,
                                     std::vector<double> x, double h = 1e-6) {
  std::vector<double> g(x.size());
  for (size_t i = 0; i < x.size(); ++i) {
    const double keep = x[i];
    x[i] = keep + h;
    const double up = f(x);
    x[i] = keep - h;
    const double down = f(x);
    x[i] = keep;
    g[i] = (up - down) / (2.0 * h);
  }
  return g;
}

// Training-mode batch norm in float64: per-channel batch mean and biased variance.
struct BnReference {
  std::vector<double> y, mean, var;
};
BnReference bn_train_reference(const BnShape& sh, const std::vector<double>& x,
                               const std::vector<double>& gamma, const std::vector<double>& beta) {
  BnReference r{std::vector<double>(x.size()), std::vector<double>(sh.c), std::vector<double>(sh.c)};
  const double m = static_cast<double>(sh.n * sh.s);
  for (int64_t ch = 0; ch < sh.c; ++ch) {
    double sum = 0.0, sq = 0.0;
    for (int64_t i = 0; i < sh.n; ++i)
      for (int64_t j = 0; j < sh.s; ++j) sum += x[(i * sh.c + ch) * sh.s + j];
    const double mean = sum / m;
    for (int64_t i = 0; i < sh.n; ++i)
      for (int64_t j = 0; j < sh.s; ++j) sq += std::pow(x[(i * sh.c + ch) * sh.s + j] - mean, 2);
    const double var = sq / m;
    r.mean[ch] = mean;
    r.var[ch] = var;
    for (int64_t i = 0; i < sh.n; ++i)
      for (int64_t j = 0; j < sh.s; ++j) {
        const int64_t at = (i * sh.c + ch) * sh.s + j;
        r.y[at] = (x[at] - mean) / std::sqrt(var + kEps) * gamma[ch] + beta[ch];
      }
  }
  return r;
}

double dot(const std::vector<double>& a, const std::vector<float>& b) {
  double s = 0.0;
  for (size_t i = 0; i < a.size(); ++i) s += a[i] * b[i];
  return s;
}

// Inputs of one case: x with a non-zero mean, gamma, beta and an upstream gradient dy.
struct BnCase {
  BnShape sh;
  std::vector<float> x, gamma, beta, dy;
  explicit BnCase(const BnShape& shape, uint64_t seed = 0)
      : sh(shape),
        x(random_floats(shape.numel(), seed * 4 + 0, 0.7f, 2.0f)),
        gamma(random_floats(shape.c, seed * 4 + 1, 1.0f, 0.5f)),
        beta(random_floats(shape.c, seed * 4 + 2)),
        dy(random_floats(shape.numel(), seed * 4 + 3)) {}
};

// Gradients of L = sum(dy * y) by finite differences of the reference, for x, gamma and beta.
struct BnNumericGrads {
  std::vector<double> dx, dgamma, dbeta;
};
BnNumericGrads bn_numeric_grads(const BnCase& k) {
  const auto x = to_double(k.x), gamma = to_double(k.gamma), beta = to_double(k.beta);
  return {numeric_gradient([&](const std::vector<double>& v) {
            return dot(bn_train_reference(k.sh, v, gamma, beta).y, k.dy);
          }, x),
          numeric_gradient([&](const std::vector<double>& v) {
            return dot(bn_train_reference(k.sh, x, v, beta).y, k.dy);
          }, gamma),
          numeric_gradient([&](const std::vector<double>& v) {
            return dot(bn_train_reference(k.sh, x, gamma, v).y, k.dy);
          }, beta)};
}

TEST(BatchNormCpu, TrainForwardMatchesFloat64Reference) {
  for (const BnShape& sh : kShapes) {
    BnCase k(sh);
    std::vector<float> y(sh.numel()), mean(sh.c), invstd(sh.c);
    batchnorm_forward_train_cpu(sh.n, sh.c, sh.s, k.x.data(), k.gamma.data(), k.beta.data(), kEps, 0.1f,
                                nullptr, nullptr, y.data(), mean.data(), invstd.data(), false);
    const BnReference ref = bn_train_reference(sh, to_double(k.x), to_double(k.gamma), to_double(k.beta));
    std::vector<double> ref_invstd(sh.c);
    for (int64_t ch = 0; ch < sh.c; ++ch) ref_invstd[ch] = 1.0 / std::sqrt(ref.var[ch] + kEps);
    EXPECT_LT(max_relative_error(y, ref.y), 1e-5) << "n=" << sh.n << " c=" << sh.c << " s=" << sh.s;
    EXPECT_LT(max_relative_error(mean, ref.mean), 1e-5);
    EXPECT_LT(max_relative_error(invstd, ref_invstd), 1e-5);
  }
}

TEST(BatchNormCpu, StatisticsStayAccurateWhenTheMeanDwarfsTheSpread) {
  // One-pass sums of x and x^2 would cancel catastrophically here (mean 1e4, std 0.01) without the shift.
  const BnShape sh{4, 2, 100};
  const std::vector<float> x = random_floats(sh.numel(), 60, 1e4f, 0.01f);
  std::vector<float> y(sh.numel()), mean(sh.c), invstd(sh.c), running_var(sh.c, 0.0f);
  batchnorm_forward_train_cpu(sh.n, sh.c, sh.s, x.data(), nullptr, nullptr, kEps, 1.0f, nullptr,
                              running_var.data(), y.data(), mean.data(), invstd.data(), false);
  const std::vector<double> ones(sh.c, 1.0), zeros(sh.c, 0.0);
  const BnReference ref = bn_train_reference(sh, to_double(x), ones, zeros);
  std::vector<double> ref_invstd(sh.c), ref_unbiased(sh.c);
  const double m = static_cast<double>(sh.n * sh.s);
  for (int64_t ch = 0; ch < sh.c; ++ch) {
    ref_invstd[ch] = 1.0 / std::sqrt(ref.var[ch] + kEps);
    ref_unbiased[ch] = ref.var[ch] * m / (m - 1);
  }
  EXPECT_LT(max_relative_error(invstd, ref_invstd), 1e-5);
  EXPECT_LT(max_relative_error(running_var, ref_unbiased), 1e-5);
}

TEST(BatchNormCpu, NullGammaAndBetaActAsIdentityAffine) {
  const BnShape sh{3, 2, 4};
  BnCase k(sh);
  std::vector<float> ones(sh.c, 1.0f), zeros(sh.c, 0.0f), mean(sh.c), invstd(sh.c);
  std::vector<float> y_null(sh.numel()), y_explicit(sh.numel());
  batchnorm_forward_train_cpu(sh.n, sh.c, sh.s, k.x.data(), nullptr, nullptr, kEps, 0.1f, nullptr, nullptr,
                              y_null.data(), mean.data(), invstd.data(), false);
  batchnorm_forward_train_cpu(sh.n, sh.c, sh.s, k.x.data(), ones.data(), zeros.data(), kEps, 0.1f, nullptr,
                              nullptr, y_explicit.data(), mean.data(), invstd.data(), false);
  EXPECT_EQ(y_null, y_explicit);
}

TEST(BatchNormCpu, RunningStatsFollowPyTorchUpdateWithUnbiasedVariance) {
  // One channel, values {1, 2, 3, 6}: mean 3, biased variance 3.5, unbiased variance 14/3.
  const std::vector<float> x = {1, 2, 3, 6};
  float running_mean = 0.5f, running_var = 2.0f, mean, invstd;
  std::vector<float> y(4);
  batchnorm_forward_train_cpu(4, 1, 1, x.data(), nullptr, nullptr, kEps, 0.1f, &running_mean, &running_var,
                              y.data(), &mean, &invstd, false);
  EXPECT_NEAR(running_mean, 0.9 * 0.5 + 0.1 * 3.0, 1e-6);
  EXPECT_NEAR(running_var, 0.9 * 2.0 + 0.1 * 14.0 / 3.0, 1e-6);
  EXPECT_NEAR(invstd, 1.0 / std::sqrt(3.5 + kEps), 1e-6);  // normalising uses the biased variance
}

TEST(BatchNormCpu, TrainRejectsSingleValuePerChannel) {
  std::vector<float> x = {1.0f, 2.0f}, y(2), mean(2), invstd(2);
  try {
    batchnorm_forward_train_cpu(1, 2, 1, x.data(), nullptr, nullptr, kEps, 0.1f, nullptr, nullptr, y.data(),
                                mean.data(), invstd.data(), false);
    FAIL() << "expected ShapeError";
  } catch (const ShapeError& e) {
    EXPECT_NE(std::string(e.what()).find("N=1, C=2, S=1"), std::string::npos) << e.what();
  }
}

TEST(BatchNormCpu, EvalForwardUsesRunningStats) {
  const BnShape sh{3, 4, 5};
  BnCase k(sh);
  const std::vector<float> running_mean = random_floats(sh.c, 50);
  std::vector<float> running_var = random_floats(sh.c, 51);
  for (float& v : running_var) v = 0.2f + v * v;
  std::vector<float> y(sh.numel());
  batchnorm_forward_eval_cpu(sh.n, sh.c, sh.s, k.x.data(), k.gamma.data(), k.beta.data(), kEps,
                             running_mean.data(), running_var.data(), y.data(), false);
  std::vector<double> ref(sh.numel());
  for (int64_t i = 0; i < sh.n; ++i)
    for (int64_t ch = 0; ch < sh.c; ++ch)
      for (int64_t j = 0; j < sh.s; ++j) {
        const int64_t at = (i * sh.c + ch) * sh.s + j;
        ref[at] = (static_cast<double>(k.x[at]) - running_mean[ch]) /
                      std::sqrt(static_cast<double>(running_var[ch]) + kEps) * k.gamma[ch] + k.beta[ch];
      }
  EXPECT_LT(max_relative_error(y, ref), 1e-5);
}

TEST(BatchNormCpu, BackwardFromInputMatchesFiniteDifferences) {
  for (const BnShape& sh : kShapes) {
    BnCase k(sh, 1);
    std::vector<float> y(sh.numel()), mean(sh.c), invstd(sh.c), dx(sh.numel()), dgamma(sh.c), dbeta(sh.c);
    batchnorm_forward_train_cpu(sh.n, sh.c, sh.s, k.x.data(), k.gamma.data(), k.beta.data(), kEps, 0.1f,
                                nullptr, nullptr, y.data(), mean.data(), invstd.data(), false);
    batchnorm_backward_cpu(sh.n, sh.c, sh.s, k.x.data(), k.dy.data(), k.gamma.data(), mean.data(),
                           invstd.data(), dx.data(), dgamma.data(), dbeta.data(), false);
    const BnNumericGrads num = bn_numeric_grads(k);
    EXPECT_LT(max_relative_error(dx, num.dx), 1e-4) << "n=" << sh.n << " c=" << sh.c << " s=" << sh.s;
    EXPECT_LT(max_relative_error(dgamma, num.dgamma), 1e-4);
    EXPECT_LT(max_relative_error(dbeta, num.dbeta), 1e-4);
  }
}

TEST(BatchNormCpu, BackwardFromXhatMatchesFiniteDifferences) {
  for (const BnShape& sh : kShapes) {
    BnCase k(sh, 2);
    std::vector<float> y(sh.numel()), mean(sh.c), invstd(sh.c), dx(sh.numel()), dgamma(sh.c), dbeta(sh.c);
    batchnorm_forward_train_cpu(sh.n, sh.c, sh.s, k.x.data(), k.gamma.data(), k.beta.data(), kEps, 0.1f,
                                nullptr, nullptr, y.data(), mean.data(), invstd.data(), false);
    std::vector<float> xhat(sh.numel());
    for (int64_t at = 0; at < sh.numel(); ++at) {
      const int64_t ch = (at / sh.s) % sh.c;
      xhat[at] = (k.x[at] - mean[ch]) * invstd[ch];
    }
    batchnorm_backward_from_xhat_cpu(sh.n, sh.c, sh.s, xhat.data(), k.dy.data(), k.gamma.data(),
                                     invstd.data(), dx.data(), dgamma.data(), dbeta.data(), false);
    const BnNumericGrads num = bn_numeric_grads(k);
    EXPECT_LT(max_relative_error(dx, num.dx), 1e-4) << "n=" << sh.n << " c=" << sh.c << " s=" << sh.s;
    EXPECT_LT(max_relative_error(dgamma, num.dgamma), 1e-4);
    EXPECT_LT(max_relative_error(dbeta, num.dbeta), 1e-4);
  }
}

TEST(BatchNormCpu, AccumulateAddsParamGradsAndOverwritesDx) {
  const BnShape sh{2, 3, 4};
  BnCase k(sh, 3);
  std::vector<float> y(sh.numel()), mean(sh.c), invstd(sh.c);
  batchnorm_forward_train_cpu(sh.n, sh.c, sh.s, k.x.data(), k.gamma.data(), k.beta.data(), kEps, 0.1f,
                              nullptr, nullptr, y.data(), mean.data(), invstd.data(), false);
  std::vector<float> dx(sh.numel()), dgamma(sh.c), dbeta(sh.c);
  batchnorm_backward_cpu(sh.n, sh.c, sh.s, k.x.data(), k.dy.data(), k.gamma.data(), mean.data(),
                         invstd.data(), dx.data(), dgamma.data(), dbeta.data(), false);
  std::vector<float> dx2(sh.numel(), 99.0f), dgamma2(sh.c, 1.5f), dbeta2(sh.c, -2.0f);
  batchnorm_backward_cpu(sh.n, sh.c, sh.s, k.x.data(), k.dy.data(), k.gamma.data(), mean.data(),
                         invstd.data(), dx2.data(), dgamma2.data(), dbeta2.data(), true);
  EXPECT_EQ(dx2, dx);
  for (int64_t ch = 0; ch < sh.c; ++ch) {
    EXPECT_FLOAT_EQ(dgamma2[ch], dgamma[ch] + 1.5f);
    EXPECT_FLOAT_EQ(dbeta2[ch], dbeta[ch] - 2.0f);
  }
}

TEST(BatchNormCpu, OutputsAreBitIdenticalAcrossThreadCounts) {
  const BnShape sh{8, 16, 1024};  // above the OpenMP threshold
  BnCase k(sh, 4);
  struct Outputs {
    std::vector<float> y, mean, invstd, rmean, rvar, dx, dgamma, dbeta;
  };
  auto run = [&](int threads) {
    const int before = omp_get_max_threads();
    omp_set_num_threads(threads);
    Outputs o{std::vector<float>(sh.numel()), std::vector<float>(sh.c), std::vector<float>(sh.c),
              std::vector<float>(sh.c, 0.0f), std::vector<float>(sh.c, 1.0f), std::vector<float>(sh.numel()),
              std::vector<float>(sh.c), std::vector<float>(sh.c)};
    batchnorm_forward_train_cpu(sh.n, sh.c, sh.s, k.x.data(), k.gamma.data(), k.beta.data(), kEps, 0.1f,
                                o.rmean.data(), o.rvar.data(), o.y.data(), o.mean.data(), o.invstd.data(), false);
    batchnorm_backward_cpu(sh.n, sh.c, sh.s, k.x.data(), k.dy.data(), k.gamma.data(), o.mean.data(),
                           o.invstd.data(), o.dx.data(), o.dgamma.data(), o.dbeta.data(), false);
    omp_set_num_threads(before);
    return o;
  };
  const Outputs a = run(1), b = run(2), c = run(2);
  for (const Outputs* o : {&b, &c}) {
    EXPECT_EQ(a.y, o->y);
    EXPECT_EQ(a.mean, o->mean);
    EXPECT_EQ(a.invstd, o->invstd);
    EXPECT_EQ(a.rmean, o->rmean);
    EXPECT_EQ(a.rvar, o->rvar);
    EXPECT_EQ(a.dx, o->dx);
    EXPECT_EQ(a.dgamma, o->dgamma);
    EXPECT_EQ(a.dbeta, o->dbeta);
  }
}

}  // namespace
// A ReLU folded into the batch norm must give exactly what the two layers give one after the other,
// including where the BN output is exactly 0 (beta = 0 and a constant channel put every value there).
TEST(BatchNormCpu, FoldedReluEqualsBatchNormThenReluBitForBit) {
  const ActivationSpec relu = default_activation_spec(ActivationKind::ReLU);
  const BnShape shapes[] = {{2, 3, 5}, {4, 2, 1}, {3, 2, 71}, {8, 16, 1024}};  // the last runs in parallel
  for (const BnShape& sh : shapes) {
    BnCase k(sh, 7);
    for (int64_t i = 0; i < sh.n; ++i)
      for (int64_t j = 0; j < sh.s; ++j) k.x[(i * sh.c + 0) * sh.s + j] = 1.5f;  // channel 0 is constant
    k.beta[0] = 0.0f;
    const size_t n = static_cast<size_t>(sh.numel());
    std::vector<float> y(n), z(n), folded(n), mean(sh.c), invstd(sh.c), mean2(sh.c), invstd2(sh.c);
    batchnorm_forward_train_cpu(sh.n, sh.c, sh.s, k.x.data(), k.gamma.data(), k.beta.data(), kEps, 0.1f,
                                nullptr, nullptr, y.data(), mean.data(), invstd.data(), false);
    activation_forward_cpu(relu, sh.numel(), y.data(), z.data());
    batchnorm_forward_train_cpu(sh.n, sh.c, sh.s, k.x.data(), k.gamma.data(), k.beta.data(), kEps, 0.1f,
                                nullptr, nullptr, folded.data(), mean2.data(), invstd2.data(), true);
    EXPECT_EQ(folded, z) << "n=" << sh.n << " c=" << sh.c << " s=" << sh.s;
    EXPECT_EQ(mean2, mean);
    EXPECT_EQ(invstd2, invstd);
    EXPECT_GT(std::count(z.begin(), z.end(), 0.0f), 0);
    EXPECT_GT(std::count_if(z.begin(), z.end(), [](float v) { return v > 0.0f; }), 0);

    std::vector<float> dy(n), dx(n), dgamma(sh.c), dbeta(sh.c);
    activation_backward_from_output_cpu(relu, sh.numel(), z.data(), k.dy.data(), dy.data());
    batchnorm_backward_cpu(sh.n, sh.c, sh.s, k.x.data(), dy.data(), k.gamma.data(), mean.data(), invstd.data(),
                           dx.data(), dgamma.data(), dbeta.data(), false);
    std::vector<float> fdx(n, 42.0f), fdgamma(sh.c, 42.0f), fdbeta(sh.c, 42.0f);
    batchnorm_relu_backward_cpu(sh.n, sh.c, sh.s, k.x.data(), k.dy.data(), k.gamma.data(), k.beta.data(),
                                mean.data(), invstd.data(), fdx.data(), fdgamma.data(), fdbeta.data());
    EXPECT_EQ(fdx, dx);
    EXPECT_EQ(fdgamma, dgamma);
    EXPECT_EQ(fdbeta, dbeta);
    // Without dx (no input gradient wanted) the parameter gradients are the same.
    std::vector<float> ndgamma(sh.c), ndbeta(sh.c);
    batchnorm_relu_backward_cpu(sh.n, sh.c, sh.s, k.x.data(), k.dy.data(), k.gamma.data(), k.beta.data(),
                                mean.data(), invstd.data(), nullptr, ndgamma.data(), ndbeta.data());
    EXPECT_EQ(ndgamma, dgamma);
    EXPECT_EQ(ndbeta, dbeta);
  }
}

TEST(BatchNormCpu, FoldedReluInEvaluationEqualsBatchNormThenRelu) {
  const ActivationSpec relu = default_activation_spec(ActivationKind::ReLU);
  const BnShape sh{3, 4, 9};
  BnCase k(sh, 8);
  const std::vector<float> running_mean = random_floats(sh.c, 40), running_var(sh.c, 2.5f);
  std::vector<float> y(sh.numel()), z(sh.numel()), folded(sh.numel());
  batchnorm_forward_eval_cpu(sh.n, sh.c, sh.s, k.x.data(), k.gamma.data(), k.beta.data(), kEps,
                             running_mean.data(), running_var.data(), y.data(), false);
  activation_forward_cpu(relu, sh.numel(), y.data(), z.data());
  batchnorm_forward_eval_cpu(sh.n, sh.c, sh.s, k.x.data(), k.gamma.data(), k.beta.data(), kEps,
                             running_mean.data(), running_var.data(), folded.data(), true);
  EXPECT_EQ(folded, z);
}

}  // namespace frugal
