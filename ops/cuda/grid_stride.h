// Grid-stride loops for the own kernels of the mode files: a launch of blocks_for(n) blocks
// (cuda_context.h) covers any n, with the work item of each thread fixed by its index, never by timing.
// Only .cu files under ops/cuda/ include this header.
#pragma once
#include <cstdint>

namespace frugal::cuda {

constexpr unsigned kThreadsPerBlock = 256;

__device__ inline int64_t grid_first() { return static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; }
__device__ inline int64_t grid_stride() { return static_cast<int64_t>(gridDim.x) * blockDim.x; }

}  // namespace frugal::cuda
