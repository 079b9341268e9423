// Placeholder of the CUDA backend: the kernels will be registered beside the CPU ones under the same
// op names. This translation unit proves the toolkit compiles and links.
#include <cuda_runtime.h>

namespace frugal {

int cuda_device_count() {
  int n = 0;
  if (cudaGetDeviceCount(&n) != cudaSuccess) return 0;
  return n;
}

}  // namespace frugal
