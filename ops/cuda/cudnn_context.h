// The cuDNN handle of the backend, bound to cuda::compute_stream() so convolutions queue in step order
// with every other kernel, and the check that turns a cuDNN status into a frugal error naming the call.
// Only files under ops/cuda/ include this header.
#pragma once
#include <cudnn.h>

namespace frugal::cuda {

// Created on first use (it loads cuDNN's kernels: the first call takes a while).
cudnnHandle_t cudnn();

// Throws frugal::Error("cuDNN <what>: <cudnnGetErrorString>") when `status` is not CUDNN_STATUS_SUCCESS.
void check(cudnnStatus_t status, const char* what);

}  // namespace frugal::cuda
