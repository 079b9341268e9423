// The per-channel store of the bias gradient (ops/cpu/bias_grad.h), for the CUDA kernel
// (ops/cuda/bias_grad_cuda.cu): the channel's double sum is rounded to float, then stored or added to
// the old float value (tests/ops/bias_grad_math_test.cpp holds it against the CPU kernel).
#pragma once
#include "core/host_device.h"

namespace frugal {

FRUGAL_HD inline float bias_grad_value(double sum, float old, bool accumulate) {
  return accumulate ? old + static_cast<float>(sum) : static_cast<float>(sum);
}

}  // namespace frugal
