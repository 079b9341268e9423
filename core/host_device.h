// FRUGAL_HD marks arithmetic that both a CUDA kernel and the CPU code call: `__host__ __device__` under
// nvcc, nothing elsewhere. Headers that use it hold the per-element (per-code, per-tile) arithmetic of a
// kernel, so the CPU tests exercise exactly what a CUDA kernel computes (docs/design.md, "Kernels and
// devices").
#pragma once

#if defined(__CUDACC__)
#define FRUGAL_HD __host__ __device__
#else
#define FRUGAL_HD
#endif
