// The shared host/device activation arithmetic (ops/activation_math.h) that the CUDA kernels run, held
// against the CPU kernels on random inputs, for every kind and non-default knobs.
#include "ops/activation_math.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "core/error.h"
#include "ops/cpu/activation_cpu.h"
#include "tests/ops/reference_util.h"

namespace frugal {
namespace {

using test::max_relative_error;  // max |got - want| / max |want|; NaN fails
using test::to_double;

constexpr double kElementwiseTolerance = 1e-6;

std::vector<ActivationSpec> all_specs() {
  std::vector<ActivationSpec> specs;
  for (ActivationKind k :
       {ActivationKind::ReLU, ActivationKind::LeakyReLU, ActivationKind::GELU, ActivationKind::SiLU,
        ActivationKind::Tanh, ActivationKind::Sigmoid, ActivationKind::ELU, ActivationKind::Softplus})
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

// Wide random inputs (tails where exp saturates, softplus's linear branch) plus the kinks and zeros.
std::vector<float> inputs() {
  std::vector<float> x = test::random_floats(4001, 3, 0, -30.0f, 30.0f);
  const std::vector<float> near = test::random_floats(2000, 3, 1, -2.0f, 2.0f);
  x.insert(x.end(), near.begin(), near.end());
  for (float v : {0.0f, -0.0f, 1.5f, 10.0f, 20.0f, -87.0f, 88.0f}) x.push_back(v);
  return x;
}

TEST(ActivationMath, ValueMatchesTheCpuKernelForEveryKind) {
  const std::vector<float> x = inputs();
  for (const ActivationSpec& a : all_specs()) {
    std::vector<float> cpu(x.size()), shared(x.size());
    activation_forward_cpu(a, static_cast<int64_t>(x.size()), x.data(), cpu.data());
    for (size_t i = 0; i < x.size(); ++i) shared[i] = activation_value_f32(a, x[i]);
    EXPECT_LT(max_relative_error(shared, to_double(cpu)), kElementwiseTolerance) << describe(a);
  }
}

TEST(ActivationMath, BackwardMatchesTheCpuKernelForEveryKind) {
  const std::vector<float> x = inputs();
  const std::vector<float> dy = test::random_floats(x.size(), 3, 2);
  for (const ActivationSpec& a : all_specs()) {
    std::vector<float> cpu(x.size()), shared(x.size());
    activation_backward_cpu(a, static_cast<int64_t>(x.size()), x.data(), dy.data(), cpu.data());
    for (size_t i = 0; i < x.size(); ++i) shared[i] = activation_backward_f32(a, x[i], dy[i]);
    EXPECT_LT(max_relative_error(shared, to_double(cpu)), kElementwiseTolerance) << describe(a);
  }
}

TEST(ActivationMath, BackwardFromOutputMatchesTheCpuKernelWhereTheOutputDeterminesTheSlope) {
  const std::vector<float> x = inputs();
  const std::vector<float> dy = test::random_floats(x.size(), 3, 4);
  int checked = 0;
  for (const ActivationSpec& a : all_specs()) {
    if (!activation_has_output_derivative(a.kind)) continue;
    const int64_t n = static_cast<int64_t>(x.size());
    std::vector<float> y(x.size()), cpu(x.size()), shared(x.size());
    activation_forward_cpu(a, n, x.data(), y.data());
    activation_backward_from_output_cpu(a, n, y.data(), dy.data(), cpu.data());
    for (size_t i = 0; i < x.size(); ++i) shared[i] = activation_backward_from_output_f32(a, y[i], dy[i]);
    EXPECT_LT(max_relative_error(shared, to_double(cpu)), kElementwiseTolerance) << describe(a);
    ++checked;
  }
  EXPECT_EQ(checked, 7);  // ReLU, two LeakyReLU, Tanh, Sigmoid, two ELU
}

TEST(ActivationMath, OnlyTheKindsTheCpuKernelServesFromTheOutputAreMarkedSo) {
  for (const ActivationSpec& a : all_specs()) {
    const float y = 0.5f, dy = 1.0f;
    float dx = 0.0f;
    bool cpu_serves = true;
    try {
      activation_backward_from_output_cpu(a, 1, &y, &dy, &dx);
    } catch (const InternalError&) {
      cpu_serves = false;
    }
    EXPECT_EQ(activation_has_output_derivative(a.kind), cpu_serves) << describe(a);
  }
}

TEST(ActivationMath, NanPropagatesAsInTheCpuKernel) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  for (const ActivationSpec& a : all_specs()) {
    float cpu = 0.0f;
    activation_forward_cpu(a, 1, &nan, &cpu);
    EXPECT_EQ(std::isnan(activation_value_f32(a, nan)), std::isnan(cpu)) << describe(a);
  }
}

}  // namespace
}  // namespace frugal
