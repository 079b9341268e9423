// Elementwise float32 kernels over n contiguous elements (residual adds, gradient accumulation).
#pragma once
#include <cstdint>

namespace frugal {

void add_cpu(int64_t n, const float* a, const float* b, float* y);  // y = a + b; y may alias a or b
void add_inplace_cpu(int64_t n, float* y, const float* x);          // y += x
void scale_cpu(int64_t n, float alpha, const float* x, float* y);   // y = alpha * x; y may alias x
void copy_cpu(int64_t n, const float* x, float* y);                 // y = x (no overlap)
// y_a = y_b = x in one read of x (the two gradients of a sum); either output may be null.
void copy_to_two_cpu(int64_t n, const float* x, float* y_a, float* y_b);
// z = relu(a + b), with the ReLU layer's expression (z may alias a or b).
void add_relu_cpu(int64_t n, const float* a, const float* b, float* z);
// y_a = y_b = dz where z > 0, else 0: the ReLU's backward and then the sum's, in one pass; either output
// may be null, and either may be dz itself.
void relu_grad_to_two_cpu(int64_t n, const float* z, const float* dz, float* y_a, float* y_b);

}  // namespace frugal
