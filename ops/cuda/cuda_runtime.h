// The CUDA runtime of frugal: device selection, the compute stream and library handles
// (cuda_context.h), and the DeviceRuntime (allocator, copies) that core uses for CUDA tensors.
#pragma once
#include <string>

#include "ops/cuda/cuda_context.h"

namespace frugal::cuda {

// Starts the runtime once: checks that a GPU is visible, creates the stream and handles and installs
// the DeviceRuntime. ConfigError naming the cause (no GPU, driver too old) otherwise.
void start_runtime();

// "cuda: NVIDIA H100 80GB HBM3 (sm_90, 79.1 GiB), driver 13.0, runtime 13.0, cuBLAS 13.0"
std::string describe_device();

}  // namespace frugal::cuda
