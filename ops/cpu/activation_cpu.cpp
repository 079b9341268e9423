#include "ops/cpu/activation_cpu.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"

namespace frugal {
namespace {

constexpr int64_t kParallelMinElements = 1 << 15;

// Stable logistic: never evaluates exp of a large positive number.
template <class T> inline T sigmoid(T x) {
  if (x >= T(0)) return T(1) / (T(1) + std::exp(-x));
  const T e = std::exp(x);
  return e / (T(1) + e);
}

// Calls fn(value, derivative) with two scalar functions T -> T for the activation in `a`. The switch
// runs once per call, so the element loops in fn are free of branches on the kind.
template <class T, class Fn> void with_activation(const ActivationSpec& a, Fn&& fn) {
  const T alpha = static_cast<T>(a.alpha), beta = static_cast<T>(a.beta);
  const T threshold = static_cast<T>(a.threshold);
  const T inv_sqrt2 = static_cast<T>(0.70710678118654752440);
  const T inv_sqrt_2pi = static_cast<T>(0.39894228040143267794);
  switch (a.kind) {
    case ActivationKind::ReLU:  // written so that NaN propagates
      return fn([](T x) { return x < T(0) ? T(0) : x; }, [](T x) { return x > T(0) ? T(1) : T(0); });
    case ActivationKind::LeakyReLU:
      return fn([=](T x) { return x > T(0) ? x : alpha * x; },
                [=](T x) { return x > T(0) ? T(1) : alpha; });
    case ActivationKind::GELU:  // x * Phi(x); derivative Phi(x) + x * phi(x)
      return fn([=](T x) { return T(0.5) * x * (T(1) + std::erf(x * inv_sqrt2)); },
                [=](T x) {
                  const T cdf = T(0.5) * (T(1) + std::erf(x * inv_sqrt2));
                  return cdf + x * inv_sqrt_2pi * std::exp(T(-0.5) * x * x);
                });
    case ActivationKind::SiLU:  // x * s(x); derivative s(x) * (1 + x * (1 - s(x)))
      return fn([](T x) { return x * sigmoid(x); },
                [](T x) {
                  const T sx = sigmoid(x);
                  return sx * (T(1) + x * (T(1) - sx));
                });
    case ActivationKind::Tanh:
      return fn([](T x) { return std::tanh(x); },
                [](T x) {
                  const T t = std::tanh(x);
                  return T(1) - t * t;
                });
    case ActivationKind::Sigmoid:
      return fn([](T x) { return sigmoid(x); },
                [](T x) {
                  const T sx = sigmoid(x);
                  return sx * (T(1) - sx);
                });
    case ActivationKind::ELU:
      return fn([=](T x) { return x > T(0) ? x : alpha * std::expm1(x); },
                [=](T x) { return x > T(0) ? T(1) : alpha * std::exp(x); });
    case ActivationKind::Softplus:  // log(1 + exp(beta*x)) / beta, linear above the threshold
      return fn(
          [=](T x) {
            const T z = beta * x;
            if (z > threshold) return x;
            return (std::max(z, T(0)) + std::log1p(std::exp(-std::abs(z)))) / beta;
          },
          [=](T x) {
            const T z = beta * x;
            return z > threshold ? T(1) : sigmoid(z);
          });
  }
  throw InternalError("activation kind " + std::to_string(static_cast<int>(a.kind)) + " has no kernel");
}

struct NamedKind {
  const char* name;
  ActivationKind kind;
};
constexpr NamedKind kNames[] = {
    {"relu", ActivationKind::ReLU},       {"leaky_relu", ActivationKind::LeakyReLU},
    {"gelu", ActivationKind::GELU},       {"silu", ActivationKind::SiLU},
    {"tanh", ActivationKind::Tanh},       {"sigmoid", ActivationKind::Sigmoid},
    {"elu", ActivationKind::ELU},         {"softplus", ActivationKind::Softplus},
};

}  // namespace

ActivationKind parse_activation(const std::string& name) {
  std::string valid;
  for (const NamedKind& nk : kNames) {
    if (name == nk.name) return nk.kind;
    valid += valid.empty() ? nk.name : std::string(", ") + nk.name;
  }
  throw ConfigError("unknown activation '" + name + "'; expected one of: " + valid);
}

std::vector<std::string> activation_names() {
  std::vector<std::string> names;
  for (const NamedKind& nk : kNames) names.push_back(nk.name);
  return names;
}

const char* activation_name(ActivationKind k) {
  for (const NamedKind& nk : kNames)
    if (nk.kind == k) return nk.name;
  throw InternalError("activation kind " + std::to_string(static_cast<int>(k)) + " has no name");
}

ActivationSpec default_activation_spec(ActivationKind k) {
  ActivationSpec spec;
  spec.kind = k;
  spec.alpha = k == ActivationKind::ELU ? 1.0f : 0.01f;
  return spec;
}

void activation_forward_cpu(const ActivationSpec& a, int64_t n, const float* x, float* y) {
  with_activation<float>(a, [&](auto f, auto) {
#pragma omp parallel for schedule(static) if (n >= kParallelMinElements)
    for (int64_t i = 0; i < n; ++i) y[i] = f(x[i]);
  });
}

void activation_derivative_cpu(const ActivationSpec& a, int64_t n, const float* x, float* dydx) {
  with_activation<float>(a, [&](auto, auto df) {
#pragma omp parallel for schedule(static) if (n >= kParallelMinElements)
    for (int64_t i = 0; i < n; ++i) dydx[i] = df(x[i]);
  });
}

void activation_backward_cpu(const ActivationSpec& a, int64_t n, const float* x, const float* dy,
                             float* dx) {
  with_activation<float>(a, [&](auto, auto df) {
#pragma omp parallel for schedule(static) if (n >= kParallelMinElements)
    for (int64_t i = 0; i < n; ++i) dx[i] = dy[i] * df(x[i]);
  });
}

double activation_value(const ActivationSpec& a, double x) {
  double y = 0.0;
  with_activation<double>(a, [&](auto f, auto) { y = f(x); });
  return y;
}

double activation_derivative(const ActivationSpec& a, double x) {
  double d = 0.0;
  with_activation<double>(a, [&](auto, auto df) { d = df(x); });
  return d;
}

void activation_backward_from_output_cpu(const ActivationSpec& spec, int64_t n, const float* y, const float* dy,
                                         float* dx) {
  const float alpha = spec.alpha;
  switch (spec.kind) {
    case ActivationKind::ReLU:
#pragma omp parallel for simd schedule(static) if (n > (1 << 16))
      for (int64_t i = 0; i < n; ++i) {
        const float g = dy[i];  // loaded unconditionally, so the select vectorises without a branch
        dx[i] = y[i] > 0.0f ? g : 0.0f;
      }
      break;
    case ActivationKind::LeakyReLU:
#pragma omp parallel for simd schedule(static) if (n > (1 << 16))
      for (int64_t i = 0; i < n; ++i) {
        const float g = dy[i];
        dx[i] = y[i] > 0.0f ? g : g * alpha;
      }
      break;
    case ActivationKind::ELU:  // y = alpha (e^x - 1) for x <= 0, so f'(x) = y + alpha there
#pragma omp parallel for simd schedule(static) if (n > (1 << 16))
      for (int64_t i = 0; i < n; ++i) {
        const float g = dy[i], v = y[i];
        dx[i] = v > 0.0f ? g : g * (v + alpha);
      }
      break;
    case ActivationKind::Sigmoid:
#pragma omp parallel for simd schedule(static) if (n > (1 << 16))
      for (int64_t i = 0; i < n; ++i) dx[i] = dy[i] * y[i] * (1.0f - y[i]);
      break;
    case ActivationKind::Tanh:
#pragma omp parallel for simd schedule(static) if (n > (1 << 16))
      for (int64_t i = 0; i < n; ++i) dx[i] = dy[i] * (1.0f - y[i] * y[i]);
      break;
    default:
      throw InternalError(std::string("activation_backward_from_output_cpu: ") +
                          activation_name(spec.kind) + " needs its input");
  }
}

}  // namespace frugal
