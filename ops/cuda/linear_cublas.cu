// Fully connected layers and row-major GEMM through cuBLAS (contracts: ops/cpu/linear_cpu.h,
// ops/cpu/gemm.h). cuBLAS is column-major: a row-major [M, N] matrix is its column-major transpose, so
// C = op(A) op(B) runs as C^T = op(B)^T op(A)^T, the operands swapped. cuBLAS gives the same bits run to
// run on one GPU and stream; its math mode keeps float32 (no TF32).
#include <atomic>

#include "ops/cuda/conv_algorithms.h"
#include "ops/cuda/dense_kernels_cuda.h"
#include "ops/cuda/launch_cuda.cuh"

namespace frugal::cuda {
namespace {

// cuBLAS's math mode follows the determinism switch: pedantic (float32 arithmetic as prescribed, no
// reduced-precision reductions) by default, else the default mode, which still never uses TF32 for
// float32 GEMMs. Set on the shared handle whenever the switch changed since the last GEMM.
void use_float32_math() {
  static std::atomic<int> mode_set{-1};
  const int wanted = deterministic() ? CUBLAS_PEDANTIC_MATH : CUBLAS_DEFAULT_MATH;
  if (mode_set.exchange(wanted) != wanted)
    check(cublasSetMathMode(cublas(), static_cast<cublasMath_t>(wanted)), "cublasSetMathMode");
}

}  // namespace

void gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a, int64_t lda,
          const float* b, int64_t ldb, float beta, float* c, int64_t ldc) {
  if (m <= 0 || n <= 0) return;
  use_float32_math();
  check(cublasSgemm_64(cublas(), trans_b ? CUBLAS_OP_T : CUBLAS_OP_N, trans_a ? CUBLAS_OP_T : CUBLAS_OP_N, n, m, k,
                       &alpha, b, ldb, a, lda, &beta, c, ldc),
        "cublasSgemm");
}

void linear_forward(int64_t n, int64_t in, int64_t out, const float* x, const float* w, const float* bias, float* y) {
  if (bias)  // y starts as the bias in every row; the GEMM adds into it, as the CPU kernel does
    for_each_index(n * out, "linear_forward (bias)", [=] __device__(int64_t i) { y[i] = bias[i % out]; });
  // y[N, out] (+)= x[N, in] * w^T[in, out]
  gemm(false, true, n, out, in, 1.0f, x, in, w, in, bias ? 1.0f : 0.0f, y, out);
}

void linear_backward_data(int64_t n, int64_t in, int64_t out, const float* dy, const float* w, float* dx) {
  // dx[N, in] = dy[N, out] * w[out, in]
  gemm(false, false, n, in, out, 1.0f, dy, out, w, in, 0.0f, dx, in);
}

void linear_backward_weight(int64_t n, int64_t in, int64_t out, const float* x, const float* dy, float* dw, float* db,
                            bool accumulate) {
  // dw[out, in] (+)= dy^T[out, N] * x[N, in]
  gemm(true, false, out, in, n, 1.0f, dy, out, x, in, accumulate ? 1.0f : 0.0f, dw, in);
  if (db) bias_gradient(n, out, 1, dy, db, accumulate);
}

}  // namespace frugal::cuda
