// The module's entry point behind visible_gpus() (ops/gpu_info.h): the driver's device list, without
// starting frugal's CUDA runtime (no context is created: properties come from the driver alone).
#include <cuda_runtime.h>

#include "ops/cuda/cuda_runtime.h"
#include "ops/gpu_info.h"

namespace frugal {
namespace {

GpuInventory driver_inventory() {
  GpuInventory inv;
  inv.cuda_built = true;
  cudaRuntimeGetVersion(&inv.runtime_version);
  inv.why_none = cuda::why_no_gpu();
  if (!inv.why_none.empty()) {
    cudaDriverGetVersion(&inv.driver_version);
    return inv;
  }
  cudaDriverGetVersion(&inv.driver_version);
  int count = 0;
  cudaGetDeviceCount(&count);
  for (int i = 0; i < count; ++i) {
    cudaDeviceProp p{};
    if (cudaGetDeviceProperties(&p, i) != cudaSuccess) {
      cudaGetLastError();
      continue;
    }
    inv.gpus.push_back({i, p.name, p.totalGlobalMem, p.major, p.minor, p.multiProcessorCount});
  }
  if (inv.gpus.empty()) inv.why_none = "the driver lists " + std::to_string(count) + " devices but describes none";
  return inv;
}

}  // namespace
}  // namespace frugal

extern "C" void frugal_cuda_visible_gpus(frugal::GpuInventory* inventory) { *inventory = frugal::driver_inventory(); }
