#include "ops/kernels.h"

#include "core/error.h"
#include "ops/cpu/cpu_kernels.h"
#include "ops/cuda_module.h"

namespace frugal {

const Kernels* cuda_kernels() {
  // The module's entry point starts the CUDA runtime (a ConfigError naming the cause when no GPU can
  // be used) and returns its kernels.
  using Entry = const Kernels* (*)();
  static const Entry entry = reinterpret_cast<Entry>(require_cuda_module_symbol("frugal_cuda_kernels"));
  return entry();
}

const Kernels& kernels_for(Device device) {
  if (device == Device::CPU) return cpu_kernels();
  return *cuda_kernels();
}

}  // namespace frugal
