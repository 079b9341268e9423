// Whether the CUDA convolutions keep to deterministic cuDNN algorithms (the default: the same inputs
// give the same bits on the same GPU) or may take faster non-deterministic ones (cuDNN's atomics-based
// backward passes). Set it before a step is planned: the algorithm of each conv geometry, and so the
// workspace the planner reserves for it, is chosen under the setting in force at the first query of
// that geometry and setting (ops/cuda/conv_plan_cudnn.h). The same switch picks cuBLAS's math mode
// (ops/cuda/linear_cublas.cu).
#pragma once

namespace frugal::cuda {

void set_deterministic(bool on);
bool deterministic();

}  // namespace frugal::cuda
