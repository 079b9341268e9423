// What every CUDA source of the backend shares: the one stream kernels run on, the library handles,
// and error checks that turn a CUDA status into a frugal error naming the call. Implemented in
// ops/cuda/cuda_runtime.cu. Only files under ops/cuda/ include this header.
#pragma once
#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <cstdint>

namespace frugal::cuda {

// The compute stream of the backend: every kernel and library call of a step is queued on it, so the
// order of launches is the order of the step and results do not depend on timing.
cudaStream_t compute_stream();
cublasHandle_t cublas();

// Throws frugal::Error("CUDA <what>: <cudaGetErrorString>") when `status` is not cudaSuccess.
void check(cudaError_t status, const char* what);
void check(cublasStatus_t status, const char* what);

// Grid size for a 1-D launch of `n` work items with `block` threads, capped so that grid-stride loops
// cover the rest.
inline unsigned blocks_for(int64_t n, unsigned block = 256) {
  const int64_t b = (n + block - 1) / block;
  return static_cast<unsigned>(b < 1 ? 1 : (b > 65535 * 8 ? 65535 * 8 : b));
}

}  // namespace frugal::cuda
