// Row-major GEMMs through cuBLAS (column-major): C = op(A) op(B) in row-major is C^T = op(B)^T op(A)^T in
// column-major, so the operands swap and no data moves. FP32 throughout: the handle keeps cuBLAS's
// default math mode, which never uses TF32 tensor cores, so products round as float32 GEMMs on the CPU
// do (up to summation order). cuBLAS gives the same bits run to run on the same GPU. Only files under
// ops/cuda/ include this header.
#pragma once
#include <climits>
#include <cstdint>
#include <string>

#include "core/error.h"
#include "ops/cuda/cuda_context.h"

namespace frugal::cuda {

// cuBLAS takes int sizes; a larger one is a planning bug, not something to wrap around.
inline int blas_int(int64_t v, const char* what) {
  FRUGAL_CHECK(v >= 0 && v <= INT_MAX, InternalError,
               std::string("cuBLAS GEMM: ") + what + " = " + std::to_string(v) + " is outside the int range");
  return static_cast<int>(v);
}

inline cublasOperation_t op_of(bool transpose) { return transpose ? CUBLAS_OP_T : CUBLAS_OP_N; }

// Row-major C[m, n] = alpha op(A) op(B) + beta C, op(A) [m, k], op(B) [k, n]; beta == 0 never reads C.
inline void gemm_rowmajor(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a,
                          int64_t lda, const float* b, int64_t ldb, float beta, float* c, int64_t ldc) {
  if (m == 0 || n == 0) return;
  check(cublasSgemm(cublas(), op_of(trans_b), op_of(trans_a), blas_int(n, "n"), blas_int(m, "m"), blas_int(k, "k"),
                    &alpha, b, blas_int(ldb, "ldb"), a, blas_int(lda, "lda"), &beta, c, blas_int(ldc, "ldc")),
        "cublasSgemm");
}

// `batch` independent row-major GEMMs, operand i at a + i * stride_a (a stride of 0 shares the operand).
inline void gemm_rowmajor_batched(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha,
                                  const float* a, int64_t lda, int64_t stride_a, const float* b, int64_t ldb,
                                  int64_t stride_b, float beta, float* c, int64_t ldc, int64_t stride_c,
                                  int64_t batch) {
  if (m == 0 || n == 0 || batch == 0) return;
  check(cublasSgemmStridedBatched(cublas(), op_of(trans_b), op_of(trans_a), blas_int(n, "n"), blas_int(m, "m"),
                                  blas_int(k, "k"), &alpha, b, blas_int(ldb, "ldb"), stride_b, a, blas_int(lda, "lda"),
                                  stride_a, &beta, c, blas_int(ldc, "ldc"), stride_c, blas_int(batch, "batch")),
        "cublasSgemmStridedBatched");
}

}  // namespace frugal::cuda
