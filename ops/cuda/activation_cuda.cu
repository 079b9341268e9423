// Pointwise activations and their derivatives (contracts: ops/cpu/activation_cpu.h); the arithmetic is
// ops/activation_math.h, shared with the CPU tests.
#include <string>

#include "core/error.h"
#include "ops/activation_math.h"
#include "ops/cuda/dense_kernels_cuda.h"
#include "ops/cuda/launch_cuda.cuh"

namespace frugal::cuda {

void activation_forward(const ActivationSpec& a, int64_t n, const float* x, float* y) {
  const ActivationSpec spec = a;
  for_each_index(n, "activation_forward", [=] __device__(int64_t i) { y[i] = activation_value_f32(spec, x[i]); });
}

void activation_backward(const ActivationSpec& a, int64_t n, const float* x, const float* dy, float* dx) {
  const ActivationSpec spec = a;
  for_each_index(n, "activation_backward",
                 [=] __device__(int64_t i) { dx[i] = activation_backward_f32(spec, x[i], dy[i]); });
}

void activation_backward_from_output(const ActivationSpec& a, int64_t n, const float* y, const float* dy, float* dx) {
  FRUGAL_CHECK(activation_has_output_derivative(a.kind), InternalError,
               std::string("activation_backward_from_output (cuda): ") + activation_name(a.kind) + " needs its input");
  const ActivationSpec spec = a;
  for_each_index(n, "activation_backward_from_output",
                 [=] __device__(int64_t i) { dx[i] = activation_backward_from_output_f32(spec, y[i], dy[i]); });
}

}  // namespace frugal::cuda
