// Launch helpers shared by the dense kernels: a grid-stride loop over n work items that calls a device
// lambda per item, on the compute stream, with the launch checked.
#pragma once
#include <cstdint>

#include "ops/cuda/cuda_context.h"

namespace frugal::cuda {

constexpr unsigned kElementThreads = 256;

template <class F>
__global__ void for_each_index_kernel(int64_t n, F f) {
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += stride) f(i);
}

// f(i) for every i in [0, n), in parallel; nothing for n <= 0. `what` names the kernel in errors.
template <class F>
void for_each_index(int64_t n, const char* what, F f) {
  if (n <= 0) return;
  for_each_index_kernel<<<blocks_for(n, kElementThreads), kElementThreads, 0, compute_stream()>>>(n, f);
  check(cudaGetLastError(), what);
}

}  // namespace frugal::cuda
