#include "core/device.h"

#include <cstring>

#include "core/allocator.h"
#include "core/error.h"

namespace frugal {
namespace {

class CpuRuntime final : public DeviceRuntime {
 public:
  Device device() const override { return Device::CPU; }
  Allocator& allocator() override { return default_cpu_allocator(); }
  void copy(void* dst, Device dst_device, const void* src, Device src_device, size_t bytes) override {
    FRUGAL_CHECK(dst_device == Device::CPU && src_device == Device::CPU, InternalError,
                 std::string("the CPU runtime cannot copy from ") + device_name(src_device) + " to " +
                     device_name(dst_device));
    if (bytes) std::memcpy(dst, src, bytes);
  }
  void zero(void* dst, size_t bytes) override {
    if (bytes) std::memset(dst, 0, bytes);
  }
  void synchronize() override {}
};

DeviceRuntime* cuda_runtime = nullptr;

}  // namespace

Allocator& DeviceRuntime::pinned_allocator() { return default_cpu_allocator(); }

void DeviceRuntime::upload_async(void* dst, const void* src, size_t bytes, const DeviceEvent*, DeviceEvent&) {
  copy(dst, device(), src, Device::CPU, bytes);
}

Device parse_device(const std::string& name) {
  if (name == "cpu") return Device::CPU;
  if (name == "cuda") return Device::CUDA;
  throw ConfigError("device: unknown device '" + name + "' (expected cpu or cuda)");
}

bool cuda_built() {
#ifdef FRUGAL_HAS_CUDA
  return true;
#else
  return false;
#endif
}

DeviceRuntime& device_runtime(Device device) {
  static CpuRuntime cpu;
  if (device == Device::CPU) return cpu;
  if (!cuda_runtime)
    throw ConfigError(cuda_built() ? "device 'cuda': the CUDA runtime has not been started"
                                   : "device 'cuda': this build of frugal has no CUDA backend (built without nvcc)");
  return *cuda_runtime;
}

void install_device_runtime(DeviceRuntime* runtime) {
  FRUGAL_CHECK(runtime && runtime->device() == Device::CUDA, InternalError,
               "install_device_runtime: only a CUDA runtime can be installed");
  cuda_runtime = runtime;
}

}  // namespace frugal
