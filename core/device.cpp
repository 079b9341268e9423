#include "core/device.h"

namespace frugal {

bool cuda_built() {
#ifdef FRUGAL_HAS_CUDA
  return true;
#else
  return false;
#endif
}

}  // namespace frugal
