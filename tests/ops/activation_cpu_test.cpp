// Activation kernels against independent float64 formulas; derivatives against central finite
// differences of those formulas.
#include "ops/cpu/activation_cpu.h"

#include <gtest/gtest.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/rng.h"
#include "tests/ops/reference_util.h"

namespace frugal {
namespace {

using test::max_relative_error;  // max |got - want| / max |want|; NaN fails

// Every kind with PyTorch defaults, plus non-default parameters.
std::vector<ActivationSpec> all_specs() {
  std::vector<ActivationSpec> specs;
  for (ActivationKind k : {ActivationKind::ReLU, ActivationKind::LeakyReLU, ActivationKind::GELU,
                           ActivationKind::SiLU, ActivationKind::Tanh, ActivationKind::Sigmoid,
                           ActivationKind::ELU, ActivationKind::Softplus})
    specs.push_back(default_activation_spec(k));
  specs.push_back({ActivationKind::LeakyReLU, 0.2f, 1.0f, 20.0f});
  specs.push_back({ActivationKind::ELU, 1.7f, 1.0f, 20.0f});
  specs.push_back({ActivationKind::Softplus, 0.01f, 2.0f, 3.0f});
  return specs;
}

std::string describe(const ActivationSpec& a) {
  return std::string(activation_name(a.kind)) + " alpha=" + std::to_string(a.alpha) +
         " beta=" + std::to_string(a.beta) + " threshold=" + std::to_string(a.threshold);
}

// Plain textbook formulas in float64, written independently of the kernels.
double reference(const ActivationSpec& a, double x) {
  switch (a.kind) {
    case ActivationKind::ReLU: return std::max(x, 0.0);
    case ActivationKind::LeakyReLU: return x >= 0 ? x : a.alpha * x;
    case ActivationKind::GELU: return 0.5 * x * (1.0 + std::erf(x / std::sqrt(2.0)));
    case ActivationKind::SiLU: return x / (1.0 + std::exp(-x));
    case ActivationKind::Tanh: return std::tanh(x);
    case ActivationKind::Sigmoid: return 1.0 / (1.0 + std::exp(-x));
    case ActivationKind::ELU: return x >= 0 ? x : a.alpha * (std::exp(x) - 1.0);
    case ActivationKind::Softplus:
      return a.beta * x > a.threshold ? x : std::log1p(std::exp(a.beta * x)) / a.beta;
  }
  return NAN;
}

double reference_slope(const ActivationSpec& a, double x, double h = 1e-6) {
  return (reference(a, x + h) - reference(a, x - h)) / (2.0 * h);
}

// Normal inputs with sd 3, moved at least 1e-2 away from kinks (0 and the softplus threshold).
std::vector<float> inputs_away_from_kinks(const ActivationSpec& a, size_t n, uint64_t step) {
  std::vector<float> x(n);
  rng_normal(rng_key(21, RngStream::Test, step), x.data(), n, 0.0f, 3.0f);
  const float knee = a.threshold / a.beta;
  for (float& v : x) {
    if (std::abs(v) < 1e-2f) v += v < 0 ? -1e-2f : 1e-2f;
    if (a.kind == ActivationKind::Softplus && std::abs(v - knee) < 1e-2f) v += 2e-2f;
  }
  return x;
}

TEST(ActivationCpu, ForwardMatchesFloat64Reference) {
  for (const ActivationSpec& a : all_specs()) {
    for (size_t n : {1u, 7u, 1001u}) {
      const std::vector<float> x = inputs_away_from_kinks(a, n, n);
      std::vector<float> y(n);
      std::vector<double> want(n);
      activation_forward_cpu(a, static_cast<int64_t>(n), x.data(), y.data());
      for (size_t i = 0; i < n; ++i) want[i] = reference(a, x[i]);
      EXPECT_LT(max_relative_error(y, want), 1e-5) << describe(a) << " n=" << n;
    }
  }
}

TEST(ActivationCpu, BackwardMatchesFiniteDifferences) {
  for (const ActivationSpec& a : all_specs()) {
    const size_t n = 513;
    const std::vector<float> x = inputs_away_from_kinks(a, n, 100);
    std::vector<float> dy(n), dx(n);
    rng_normal(rng_key(22, RngStream::Test), dy.data(), n);
    activation_backward_cpu(a, static_cast<int64_t>(n), x.data(), dy.data(), dx.data());
    std::vector<double> want(n);
    for (size_t i = 0; i < n; ++i) want[i] = dy[i] * reference_slope(a, x[i]);
    EXPECT_LT(max_relative_error(dx, want), 1e-4) << describe(a);
  }
}

TEST(ActivationCpu, DerivativeKernelMatchesFiniteDifferences) {
  for (const ActivationSpec& a : all_specs()) {
    const size_t n = 257;
    const std::vector<float> x = inputs_away_from_kinks(a, n, 200);
    std::vector<float> d(n);
    activation_derivative_cpu(a, static_cast<int64_t>(n), x.data(), d.data());
    std::vector<double> want(n);
    for (size_t i = 0; i < n; ++i) want[i] = reference_slope(a, x[i]);
    EXPECT_LT(max_relative_error(d, want), 1e-4) << describe(a);
  }
}

TEST(ActivationCpu, ScalarDoubleVersionsMatchReferenceClosely) {
  for (const ActivationSpec& a : all_specs()) {
    for (float x : inputs_away_from_kinks(a, 101, 300)) {
      EXPECT_NEAR(activation_value(a, x), reference(a, x), 1e-12 * std::max(1.0, std::abs(x * 1.0)))
          << describe(a) << " x=" << x;
      EXPECT_NEAR(activation_derivative(a, x), reference_slope(a, x), 1e-7) << describe(a) << " x=" << x;
    }
  }
}

TEST(ActivationCpu, DerivativeAtZeroFollowsPyTorch) {
  EXPECT_EQ(activation_derivative(default_activation_spec(ActivationKind::ReLU), 0.0), 0.0);
  const ActivationSpec leaky{ActivationKind::LeakyReLU, 0.2f, 1.0f, 20.0f};
  EXPECT_FLOAT_EQ(static_cast<float>(activation_derivative(leaky, 0.0)), 0.2f);
  const float zero = 0.0f;
  float d = -1.0f;
  activation_derivative_cpu(leaky, 1, &zero, &d);
  EXPECT_FLOAT_EQ(d, 0.2f);
  activation_derivative_cpu(default_activation_spec(ActivationKind::ReLU), 1, &zero, &d);
  EXPECT_EQ(d, 0.0f);
}

TEST(ActivationCpu, ExtremeInputsStayFinite) {
  const std::vector<float> x = {-1e4f, -100.0f, -50.0f, 50.0f, 100.0f, 1e4f};
  for (const ActivationSpec& a : all_specs()) {
    std::vector<float> y(x.size()), d(x.size());
    activation_forward_cpu(a, static_cast<int64_t>(x.size()), x.data(), y.data());
    activation_derivative_cpu(a, static_cast<int64_t>(x.size()), x.data(), d.data());
    for (size_t i = 0; i < x.size(); ++i) {
      EXPECT_TRUE(std::isfinite(y[i]) && std::isfinite(d[i])) << describe(a) << " x=" << x[i];
    }
  }
  const ActivationSpec softplus = default_activation_spec(ActivationKind::Softplus);
  EXPECT_EQ(activation_value(softplus, 1e4), 1e4);
  EXPECT_NEAR(activation_value(softplus, -50.0), std::exp(-50.0), 1e-30);
  EXPECT_NEAR(activation_value(default_activation_spec(ActivationKind::Sigmoid), -100.0), std::exp(-100.0),
              1e-50);
}

TEST(ActivationCpu, InPlaceForwardAndAliasedBackwardMatchOutOfPlace) {
  for (const ActivationSpec& a : all_specs()) {
    const std::vector<float> x = inputs_away_from_kinks(a, 64, 400);
    std::vector<float> y(64), in_place = x, dy(64, 0.5f), dx(64), aliased(64, 0.5f);
    activation_forward_cpu(a, 64, x.data(), y.data());
    activation_forward_cpu(a, 64, in_place.data(), in_place.data());
    EXPECT_EQ(in_place, y) << describe(a);
    activation_backward_cpu(a, 64, x.data(), dy.data(), dx.data());
    activation_backward_cpu(a, 64, x.data(), aliased.data(), aliased.data());
    EXPECT_EQ(aliased, dx) << describe(a);
  }
}

TEST(ActivationCpu, NamesRoundTripThroughParse) {
  for (const ActivationSpec& a : all_specs()) EXPECT_EQ(parse_activation(activation_name(a.kind)), a.kind);
  EXPECT_STREQ(activation_name(ActivationKind::LeakyReLU), "leaky_relu");
}

TEST(ActivationCpu, UnknownNameThrowsConfigErrorListingValidNames) {
  try {
    parse_activation("swish");
    FAIL() << "expected ConfigError";
  } catch (const ConfigError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("'swish'"), std::string::npos) << msg;
    EXPECT_NE(msg.find("leaky_relu"), std::string::npos) << msg;
    EXPECT_NE(msg.find("softplus"), std::string::npos) << msg;
  }
}

TEST(ActivationCpu, DefaultSpecsUsePyTorchDefaults) {
  EXPECT_EQ(default_activation_spec(ActivationKind::ELU).alpha, 1.0f);
  EXPECT_EQ(default_activation_spec(ActivationKind::LeakyReLU).alpha, 0.01f);
  const ActivationSpec softplus = default_activation_spec(ActivationKind::Softplus);
  EXPECT_EQ(softplus.beta, 1.0f);
  EXPECT_EQ(softplus.threshold, 20.0f);
}

TEST(ActivationCpu, OutputsAreBitIdenticalAcrossThreadCounts) {
  const int64_t n = 1 << 17;  // above the OpenMP threshold
  for (const ActivationSpec& a : all_specs()) {
    const std::vector<float> x = inputs_away_from_kinks(a, n, 500);
    auto run = [&](int threads) {
      const int before = omp_get_max_threads();
      omp_set_num_threads(threads);
      std::vector<float> y(n), dx(n);
      activation_forward_cpu(a, n, x.data(), y.data());
      activation_backward_cpu(a, n, x.data(), x.data(), dx.data());
      omp_set_num_threads(before);
      y.insert(y.end(), dx.begin(), dx.end());
      return y;
    };
    const std::vector<float> once = run(1);
    EXPECT_EQ(once, run(2)) << describe(a);
    EXPECT_EQ(once, run(2)) << describe(a);
  }
}

}  // namespace
}  // namespace frugal
