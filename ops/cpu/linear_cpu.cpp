#include "ops/cpu/linear_cpu.h"

#include <algorithm>

#include "ops/cpu/bias_grad.h"
#include "ops/cpu/gemm.h"

namespace frugal {

void linear_forward_cpu(int64_t n, int64_t in, int64_t out, const float* x, const float* w,
                        const float* bias, float* y) {
  if (bias) {
    for (int64_t i = 0; i < n; ++i) std::copy(bias, bias + out, y + i * out);
  }
  // y[N, out] (+)= x[N, in] * w^T[in, out]
  sgemm_rowmajor_parallel(false, true, n, out, in, 1.0f, x, in, w, in, bias ? 1.0f : 0.0f, y, out);
}

void linear_backward_data_cpu(int64_t n, int64_t in, int64_t out, const float* dy, const float* w,
                              float* dx) {
  // dx[N, in] = dy[N, out] * w[out, in]
  sgemm_rowmajor_parallel(false, false, n, in, out, 1.0f, dy, out, w, in, 0.0f, dx, in);
}

void linear_backward_weight_cpu(int64_t n, int64_t in, int64_t out, const float* x, const float* dy,
                                float* dw, float* db, bool accumulate) {
  // dw[out, in] (+)= dy^T[out, N] * x[N, in]
  sgemm_rowmajor_parallel(true, false, out, in, n, 1.0f, dy, out, x, in, accumulate ? 1.0f : 0.0f, dw,
                          in);
  if (db) bias_gradient_cpu(n, out, 1, dy, db, accumulate);
}

}  // namespace frugal
