// CPU fully-connected kernels (float32). x [N, in], w [out, in] (PyTorch layout), y [N, out].
// Each is one GEMM split statically over the OpenMP threads, so results are bit-identical run to run for
// a fixed thread count.
#pragma once
#include <cstdint>

namespace frugal {

// y = x w^T + b (bias [out] may be null).
void linear_forward_cpu(int64_t n, int64_t in, int64_t out, const float* x, const float* w,
                        const float* bias, float* y);

// dx = dy w (overwrites dx).
void linear_backward_data_cpu(int64_t n, int64_t in, int64_t out, const float* dy, const float* w,
                              float* dx);

// dw (+)= dy^T x, db (+)= sum over n of dy (db may be null). accumulate=false overwrites dw/db.
void linear_backward_weight_cpu(int64_t n, int64_t in, int64_t out, const float* x, const float* dy,
                                float* dw, float* db, bool accumulate);

}  // namespace frugal
