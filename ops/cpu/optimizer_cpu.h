// CPU optimizer updates: one pass over a parameter's elements with the arithmetic of
// ops/optimizer_math.h, split statically over the OpenMP threads for large parameters.
#pragma once
#include <cstdint>

#include "ops/optimizer_math.h"

namespace frugal {

void sgd_update_cpu(int64_t n, const SgdScalars& s, float* p, const float* grad, float* momentum_buffer);
void adamw_update_cpu(int64_t n, const AdamWScalars& s, float* p, const float* grad, float* exp_avg,
                      float* exp_avg_sq);

}  // namespace frugal
