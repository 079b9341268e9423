// Where a tensor's memory lives. Every kernel exists for the CPU; the CUDA backend (ops/cuda/)
// implements the same kernel interface (ops/kernels.h). Host code may only touch CPU memory: data
// crosses between devices through DeviceRuntime::copy.
#pragma once
#include <cstddef>
#include <string>

namespace frugal {

enum class Device { CPU, CUDA };

inline const char* device_name(Device d) { return d == Device::CPU ? "cpu" : "cuda"; }
// "cpu" or "cuda"; ConfigError naming the value otherwise.
Device parse_device(const std::string& name);

// True when this build has the CUDA backend compiled in (FRUGAL_CUDA).
bool cuda_built();

class Allocator;

// What core needs of a device's memory: its allocator and byte copies. The CPU's is built in; the CUDA
// backend installs its own (ops/cuda/) the first time the CUDA kernels are asked for, so a CUDA tensor
// never exists without it.
class DeviceRuntime {
 public:
  virtual ~DeviceRuntime() = default;
  virtual Device device() const = 0;
  virtual Allocator& allocator() = 0;
  // Copies `bytes` between any two devices (one of them this one); returns when the bytes are in
  // place. Overlap is not allowed.
  virtual void copy(void* dst, Device dst_device, const void* src, Device src_device, size_t bytes) = 0;
  virtual void zero(void* dst, size_t bytes) = 0;
  // Waits until every kernel queued on this device has finished (a no-op on the CPU).
  virtual void synchronize() = 0;
};

// The runtime of `device`. ConfigError when CUDA is asked for and no CUDA runtime is installed.
DeviceRuntime& device_runtime(Device device);
// Installs the runtime of a non-CPU device (ops/cuda/ does this for CUDA).
void install_device_runtime(DeviceRuntime* runtime);

}  // namespace frugal
