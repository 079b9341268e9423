#pragma once
#include <string>

namespace frugal {

enum class Device { CPU, CUDA };

inline const char* device_name(Device d) { return d == Device::CPU ? "cpu" : "cuda"; }

// True when this build has the CUDA backend compiled in (FRUGAL_CUDA).
bool cuda_built();

}  // namespace frugal
