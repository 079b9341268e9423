// Thin row-major wrappers over OpenBLAS sgemm. frugal's CPU kernels parallelise with OpenMP only and
// call OpenBLAS single-threaded: two thread pools spinning on the same few cores slow each other down.
#pragma once
#include <cstdint>

namespace frugal {

// C[M,N] = alpha * op(A) * op(B) + beta * C, all row-major. op(A) is [M,K]: A is [M,K] (lda >= K) or,
// when trans_a, [K,M] (lda >= M). Likewise op(B) is [K,N]. beta == 0 ignores C's old contents.
void sgemm_rowmajor(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha,
                    const float* a, int64_t lda, const float* b, int64_t ldb, float beta, float* c,
                    int64_t ldc);

// Same contract as sgemm_rowmajor, run on the OpenMP threads: C is cut into one block of rows or columns
// per thread (a static split that depends only on the shapes and the thread count, so results are
// bit-identical run to run) and each block is one single-threaded sgemm. Small products run as one
// single-threaded sgemm. Inside a parallel region it is one plain sgemm on the calling thread: the
// region's owner should hold a BlasSingleThreadScope.
void sgemm_rowmajor_parallel(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha,
                             const float* a, int64_t lda, const float* b, int64_t ldb, float beta,
                             float* c, int64_t ldc);

// While alive, OpenBLAS runs every call on the calling thread; restores the previous setting when it
// goes. Create it outside OpenMP regions (the setting is process-wide).
class BlasSingleThreadScope {
 public:
  BlasSingleThreadScope();
  ~BlasSingleThreadScope();
  BlasSingleThreadScope(const BlasSingleThreadScope&) = delete;
  BlasSingleThreadScope& operator=(const BlasSingleThreadScope&) = delete;

 private:
  int previous_threads_;
};

}  // namespace frugal
