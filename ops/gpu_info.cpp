#include "ops/gpu_info.h"

#include <cstdio>

#include "ops/cuda_module.h"

namespace frugal {

GpuInventory visible_gpus() {
  GpuInventory inv;
  using Entry = void (*)(GpuInventory*);
  const auto entry = reinterpret_cast<Entry>(cuda_module_symbol("frugal_cuda_visible_gpus", &inv.why_none));
  if (entry) entry(&inv);
  return inv;
}

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
