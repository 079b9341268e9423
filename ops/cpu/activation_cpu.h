// CPU pointwise activation kernels (float32) and their derivatives (ops/activation_spec.h says which
// activation and its conventions).
#pragma once
#include <cstdint>

#include "ops/activation_spec.h"

namespace frugal {

// All over n contiguous elements.
void activation_forward_cpu(const ActivationSpec& a, int64_t n, const float* x, float* y);  // y may == x
void activation_derivative_cpu(const ActivationSpec& a, int64_t n, const float* x, float* dydx);
// dx = dy * f'(x); dx may alias dy.
void activation_backward_cpu(const ActivationSpec& a, int64_t n, const float* x, const float* dy,
                             float* dx);
// dx = dy * f'(x) from the output y = f(x), for the activations whose derivative y determines (ReLU,
// LeakyReLU and ELU with alpha > 0, Sigmoid, Tanh); InternalError for the others. dx may alias dy.
void activation_backward_from_output_cpu(const ActivationSpec& a, int64_t n, const float* y, const float* dy,
                                         float* dx);

}  // namespace frugal
