#include "ops/cuda/cudnn_context.h"

#include <mutex>
#include <string>

#include "core/error.h"
#include "ops/cuda/cuda_context.h"
#include "ops/cuda/cuda_runtime.h"

namespace frugal::cuda {

void check(cudnnStatus_t status, const char* what) {
  if (status != CUDNN_STATUS_SUCCESS) throw Error(std::string("cuDNN ") + what + ": " + cudnnGetErrorString(status));
}

cudnnHandle_t cudnn() {
  static std::once_flag once;
  static cudnnHandle_t handle = nullptr;  // lives as long as the process, like the cuBLAS handle
  std::call_once(once, [] {
    cudnnHandle_t h = nullptr;
    account_library_bytes("cuDNN handle", [&h] { check(cudnnCreate(&h), "cudnnCreate"); });
    check(cudnnSetStream(h, compute_stream()), "cudnnSetStream");
    handle = h;
  });
  return handle;
}

}  // namespace frugal::cuda
