// Entry point of the CUDA backend (ops/kernels.h). Until its kernels land, asking for them is a clear
// configuration error rather than a crash.
#include "core/error.h"
#include "ops/kernels.h"

namespace frugal {

const Kernels* cuda_kernels() {
  throw ConfigError("device 'cuda': the CUDA kernels of this build are not implemented yet");
}

}  // namespace frugal
