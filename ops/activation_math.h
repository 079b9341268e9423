// The per-element arithmetic of the activation kernels in float32, for the CUDA kernels
// (ops/cuda/activation_cuda.cu); tests/ops/activation_math_test.cpp holds it against the CPU kernels
// (ops/cpu/activation_cpu.cpp), which keep their own vectorised loops. Every expression is written in
// the CPU kernel's order of operations, so with contraction off (no FMA, as both backends compile) only
// the library functions (expf, erff, tanhf, expm1f, log1pf) can differ between devices, by their ulps.
#pragma once
#include <math.h>

#include "core/host_device.h"
#include "ops/activation_spec.h"

namespace frugal {
namespace activation_math {

// Stable logistic: never evaluates exp of a large positive number.
FRUGAL_HD inline float sigmoid(float x) {
  if (x >= 0.0f) return 1.0f / (1.0f + expf(-x));
  const float e = expf(x);
  return e / (1.0f + e);
}

// Rounded from double, as the CPU kernel's static_cast<T>(double constant).
constexpr float kInvSqrt2 = static_cast<float>(0.70710678118654752440);
constexpr float kInvSqrt2Pi = static_cast<float>(0.39894228040143267794);

}  // namespace activation_math

// f(x) for the activation in `a` (conventions in ops/activation_spec.h; NaN propagates).
FRUGAL_HD inline float activation_value_f32(const ActivationSpec& a, float x) {
  using namespace activation_math;
  switch (a.kind) {
    case ActivationKind::ReLU:
      return x < 0.0f ? 0.0f : x;
    case ActivationKind::LeakyReLU:
      return x > 0.0f ? x : a.alpha * x;
    case ActivationKind::GELU:  // x * Phi(x)
      return 0.5f * x * (1.0f + erff(x * kInvSqrt2));
    case ActivationKind::SiLU:
      return x * sigmoid(x);
    case ActivationKind::Tanh:
      return tanhf(x);
    case ActivationKind::Sigmoid:
      return sigmoid(x);
    case ActivationKind::ELU:
      return x > 0.0f ? x : a.alpha * expm1f(x);
    case ActivationKind::Softplus: {  // log(1 + exp(beta*x)) / beta, linear above the threshold
      const float z = a.beta * x;
      if (z > a.threshold) return x;
      return ((z < 0.0f ? 0.0f : z) + log1pf(expf(-fabsf(z)))) / a.beta;
    }
  }
  return x;  // unreachable: every kind is listed (the host checks the kind before a launch)
}

// f'(x) (ReLU'(0) = 0, LeakyReLU'(0) = alpha, as PyTorch).
FRUGAL_HD inline float activation_derivative_f32(const ActivationSpec& a, float x) {
  using namespace activation_math;
  switch (a.kind) {
    case ActivationKind::ReLU:
      return x > 0.0f ? 1.0f : 0.0f;
    case ActivationKind::LeakyReLU:
      return x > 0.0f ? 1.0f : a.alpha;
    case ActivationKind::GELU: {  // Phi(x) + x * phi(x)
      const float cdf = 0.5f * (1.0f + erff(x * kInvSqrt2));
      return cdf + x * kInvSqrt2Pi * expf(-0.5f * x * x);
    }
    case ActivationKind::SiLU: {  // s(x) * (1 + x * (1 - s(x)))
      const float sx = sigmoid(x);
      return sx * (1.0f + x * (1.0f - sx));
    }
    case ActivationKind::Tanh: {
      const float t = tanhf(x);
      return 1.0f - t * t;
    }
    case ActivationKind::Sigmoid: {
      const float sx = sigmoid(x);
      return sx * (1.0f - sx);
    }
    case ActivationKind::ELU:
      return x > 0.0f ? 1.0f : a.alpha * expf(x);
    case ActivationKind::Softplus: {
      const float z = a.beta * x;
      return z > a.threshold ? 1.0f : sigmoid(z);
    }
  }
  return 0.0f;  // unreachable
}

// dx = dy * f'(x).
FRUGAL_HD inline float activation_backward_f32(const ActivationSpec& a, float x, float dy) {
  return dy * activation_derivative_f32(a, x);
}

// Whether f'(x) can be read off the output y = f(x) (activation_backward_from_output).
FRUGAL_HD inline bool activation_has_output_derivative(ActivationKind k) {
  return k == ActivationKind::ReLU || k == ActivationKind::LeakyReLU || k == ActivationKind::ELU ||
         k == ActivationKind::Sigmoid || k == ActivationKind::Tanh;
}

// dx = dy * f'(x) from the output y = f(x), for the kinds activation_has_output_derivative accepts
// (dy for any other kind; the host refuses those before a launch).
FRUGAL_HD inline float activation_backward_from_output_f32(const ActivationSpec& a, float y, float dy) {
  switch (a.kind) {
    case ActivationKind::ReLU:
      return y > 0.0f ? dy : 0.0f;
    case ActivationKind::LeakyReLU:
      return y > 0.0f ? dy : dy * a.alpha;
    case ActivationKind::ELU:  // y = alpha (e^x - 1) for x <= 0, so f'(x) = y + alpha there
      return y > 0.0f ? dy : dy * (y + a.alpha);
    case ActivationKind::Sigmoid:
      return dy * y * (1.0f - y);
    case ActivationKind::Tanh:
      return dy * (1.0f - y * y);
    default:
      return dy;
  }
}

}  // namespace frugal
