#include "ops/gpu_info.h"

#include <cstdio>

namespace frugal {

#ifndef FRUGAL_HAS_CUDA
GpuInventory visible_gpus() {
  GpuInventory inv;
  inv.why_none = "this build of frugal has no CUDA backend: it was built without nvcc";
  return inv;
}
#endif

std::string cuda_version_string(int version) {
  if (version <= 0) return "none";
  return std::to_string(version / 1000) + "." + std::to_string(version % 1000 / 10);
}

std::string describe_gpus(const GpuInventory& inv) {
  if (inv.gpus.empty()) return "no GPU visible (" + inv.why_none + ")\n";
  std::string out = "CUDA driver " + cuda_version_string(inv.driver_version) + ", runtime " +
                    cuda_version_string(inv.runtime_version) + "\n";
  for (const GpuInfo& g : inv.gpus) {
    char line[512];
    std::snprintf(line, sizeof line, "gpu %d: %s, %.1f GiB, compute capability %d.%d, %d SMs\n", g.index,
                  g.name.c_str(), static_cast<double>(g.total_bytes) / (1 << 30), g.major, g.minor,
                  g.multiprocessors);
    out += line;
  }
  return out;
}

}  // namespace frugal
