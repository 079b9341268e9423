// Elementwise float32 kernels over n contiguous elements (residual adds, gradient accumulation).
#pragma once
#include <cstdint>

namespace frugal {

void add_cpu(int64_t n, const float* a, const float* b, float* y);  // y = a + b; y may alias a or b
void add_inplace_cpu(int64_t n, float* y, const float* x);          // y += x
void scale_cpu(int64_t n, float alpha, const float* x, float* y);   // y = alpha * x; y may alias x
void copy_cpu(int64_t n, const float* x, float* y);                 // y = x (no overlap)

}  // namespace frugal
