// Which GPUs this process can see, for `frugal devices` and `frugal --version`. Device-neutral: a
// build without the CUDA backend says so. Asking starts no runtime of frugal's and never throws.
#pragma once
#include <cstddef>
#include <string>
#include <vector>

namespace frugal {

struct GpuInfo {
  int index = 0;
  std::string name;
  size_t total_bytes = 0;
  int major = 0, minor = 0;  // compute capability
  int multiprocessors = 0;
};

struct GpuInventory {
  bool cuda_built = false;
  int driver_version = 0, runtime_version = 0;  // CUDA's encoding (13000 = 13.0); 0 = none
  std::vector<GpuInfo> gpus;
  std::string why_none;  // when gpus is empty: why ("no NVIDIA driver is installed", ...)
};

GpuInventory visible_gpus();

// "13.0" for 13000; "none" for 0.
std::string cuda_version_string(int version);

// One line per GPU ("gpu 0: NVIDIA H100 80GB HBM3, 79.1 GiB, compute capability 9.0, 132 SMs") after a
// line with the driver and runtime versions; or "no GPU visible (<why>)".
std::string describe_gpus(const GpuInventory& inventory);

}  // namespace frugal
