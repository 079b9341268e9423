#include "ops/kernels.h"

#include "core/error.h"
#include "ops/cpu/cpu_kernels.h"

namespace frugal {

#ifndef FRUGAL_HAS_CUDA
const Kernels* cuda_kernels() { return nullptr; }
#endif

const Kernels& kernels_for(Device device) {
  if (device == Device::CPU) return cpu_kernels();
  const Kernels* cuda = cuda_kernels();
  if (!cuda) throw ConfigError("device 'cuda': this build of frugal has no CUDA backend (built without nvcc)");
  return *cuda;
}

}  // namespace frugal
