// Which pointwise activation a layer computes, with its knobs, and scalar double versions of it (the
// references the tests compare kernels with, and what fewbit derivative tables are built from).
// Conventions follow PyTorch: GELU is the exact erf form; at x == 0, ReLU'(0) = 0 and LeakyReLU'(0) = alpha.
#pragma once
#include <string>
#include <vector>

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
// Every name parse_activation accepts, in its order (the config schema enumerates these).
std::vector<std::string> activation_names();
const char* activation_name(ActivationKind k);
ActivationSpec default_activation_spec(ActivationKind k);  // PyTorch defaults (ELU alpha 1.0, Leaky 0.01)

double activation_value(const ActivationSpec& a, double x);
double activation_derivative(const ActivationSpec& a, double x);

}  // namespace frugal
