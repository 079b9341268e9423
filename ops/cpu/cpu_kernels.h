// The CPU backend of the kernel interface (ops/kernels.h): OpenBLAS GEMMs and OpenMP loops with
// AVX-512/AVX2 paths, always built.
#pragma once
#include "ops/kernels.h"

namespace frugal {

const Kernels& cpu_kernels();

}  // namespace frugal
