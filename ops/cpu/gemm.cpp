#include "ops/cpu/gemm.h"

#include <cblas.h>
#include <omp.h>

#include <algorithm>
#include <limits>
#include <string>

#include "core/error.h"

namespace frugal {

namespace {

blasint to_blas_int(int64_t v, const char* what) {
  FRUGAL_CHECK(v >= 0 && v <= std::numeric_limits<blasint>::max(), InternalError,
               std::string("sgemm_rowmajor: ") + what + " = " + std::to_string(v) +
                   " does not fit the BLAS integer type");
  return static_cast<blasint>(v);
}

}  // namespace

void sgemm_rowmajor(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha,
                    const float* a, int64_t lda, const float* b, int64_t ldb, float beta, float* c,
                    int64_t ldc) {
  if (m == 0 || n == 0) return;
  if (k == 0) {  // op(A) op(B) is all zeros; BLAS would reject the leading dimensions of empty operands
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < n; ++j) c[i * ldc + j] = beta == 0.0f ? 0.0f : beta * c[i * ldc + j];
    return;
  }
  cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans,
              to_blas_int(m, "M"), to_blas_int(n, "N"), to_blas_int(k, "K"), alpha, a,
              to_blas_int(lda, "lda"), b, to_blas_int(ldb, "ldb"), beta, c, to_blas_int(ldc, "ldc"));
}

void sgemm_rowmajor_parallel(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha,
                             const float* a, int64_t lda, const float* b, int64_t ldb, float beta,
                             float* c, int64_t ldc) {
  // Below this many multiply-adds (~40 us on one core) a fork/join costs more than it saves.
  constexpr int64_t kMinParallelMacs = int64_t{1} << 21;
  constexpr int64_t kBlockAlign = 16;  // one AVX-512 register of floats, so blocks keep full-width tiles
  if (omp_in_parallel()) {  // the enclosing region already owns the cores (and pinned OpenBLAS to one)
    sgemm_rowmajor(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    return;
  }
  BlasSingleThreadScope single_threaded_blas;
  const int64_t threads = omp_get_max_threads();
  const bool split_rows = m >= n;
  const int64_t extent = split_rows ? m : n;
  const int64_t block = (extent + threads - 1) / threads;
  const int64_t aligned_block = (block + kBlockAlign - 1) / kBlockAlign * kBlockAlign;
  const int64_t parts =
      threads > 1 && m * n * k >= kMinParallelMacs ? (extent + aligned_block - 1) / aligned_block : 1;
  if (parts <= 1) {
    sgemm_rowmajor(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    return;
  }
#pragma omp parallel for schedule(static, 1) num_threads(static_cast<int>(parts))
  for (int64_t part = 0; part < parts; ++part) {
    const int64_t begin = part * aligned_block, size = std::min(aligned_block, extent - begin);
    if (split_rows) {  // rows [begin, begin+size) of C come from the same rows of op(A)
      const float* a_rows = trans_a ? a + begin : a + begin * lda;
      sgemm_rowmajor(trans_a, trans_b, size, n, k, alpha, a_rows, lda, b, ldb, beta, c + begin * ldc,
                     ldc);
    } else {  // columns [begin, begin+size) of C come from the same columns of op(B)
      const float* b_cols = trans_b ? b + begin * ldb : b + begin;
      sgemm_rowmajor(trans_a, trans_b, m, size, k, alpha, a, lda, b_cols, ldb, beta, c + begin, ldc);
    }
  }
}

BlasSingleThreadScope::BlasSingleThreadScope() : previous_threads_(openblas_get_num_threads()) {
  if (previous_threads_ != 1) openblas_set_num_threads(1);
}

BlasSingleThreadScope::~BlasSingleThreadScope() {
  if (previous_threads_ != 1) openblas_set_num_threads(previous_threads_);
}

}  // namespace frugal
