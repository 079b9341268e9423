// Pointwise activation kernels (float32) and their derivatives, plus scalar double versions used as
// references and to build derivative lookup tables. Conventions follow PyTorch: GELU is the exact erf
// form; at x == 0, ReLU'(0) = 0 and LeakyReLU'(0) = alpha.
#pragma once
#include <cstdint>
#include <string>

namespace frugal {

enum class ActivationKind { ReLU, LeakyReLU, GELU, SiLU, Tanh, Sigmoid, ELU, Softplus };

struct ActivationSpec {
  ActivationKind kind = ActivationKind::ReLU;
  float alpha = 0.01f;      // LeakyReLU negative slope (PyTorch default 0.01); ELU alpha (set 1.0 for ELU)
  float beta = 1.0f;        // Softplus beta (PyTorch default 1)
  float threshold = 20.0f;  // Softplus: linear when beta*x > threshold (PyTorch default 20)
};

// "relu", "leaky_relu", "gelu", "silu", "tanh", "sigmoid", "elu", "softplus"; anything else throws
// ConfigError naming the value and listing the valid names.
ActivationKind parse_activation(const std::string& name);
const char* activation_name(ActivationKind k);
ActivationSpec default_activation_spec(ActivationKind k);  // PyTorch defaults (ELU alpha 1.0, Leaky 0.01)

// All over n contiguous elements.
void activation_forward_cpu(const ActivationSpec& a, int64_t n, const float* x, float* y);  // y may == x
void activation_derivative_cpu(const ActivationSpec& a, int64_t n, const float* x, float* dydx);
// dx = dy * f'(x); dx may alias dy.
void activation_backward_cpu(const ActivationSpec& a, int64_t n, const float* x, const float* dy,
                             float* dx);

double activation_value(const ActivationSpec& a, double x);
double activation_derivative(const ActivationSpec& a, double x);

}  // namespace frugal
