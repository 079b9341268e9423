// Where a tensor's memory lives. Every kernel exists for the CPU; the CUDA backend (ops/cuda/)
// implements the same kernel interface (ops/kernels.h). Host code may only touch CPU memory: data
// crosses between devices through DeviceRuntime::copy.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace frugal {

enum class Device { CPU, CUDA };

inline const char* device_name(Device d) { return d == Device::CPU ? "cpu" : "cuda"; }
// "cpu" or "cuda"; ConfigError naming the value otherwise.
Device parse_device(const std::string& name);

// True when this build has the CUDA backend compiled in (FRUGAL_CUDA).
bool cuda_built();

class Allocator;

// A point in a device's queues of work that other work, or the host, can wait for (CUDA: an event).
// On a device whose work runs synchronously (the CPU) every event has always happened.
class DeviceEvent {
 public:
  virtual ~DeviceEvent() = default;
};

// What the memory report says of a device's memory (training/memory_accounting.h). On the CPU
// `available` is false: the process's RSS stands for it.
struct DeviceMemoryStats {
  bool available = false;
  // Bytes handed out by the device's allocator (every tensor, planned arena and staging buffer):
  // live now, the most live at once, and how many allocations (cudaMalloc calls) were made so far.
  size_t allocated_bytes = 0, allocated_peak_bytes = 0;
  uint64_t allocations = 0;
  std::vector<size_t> allocated_by_category;  // live bytes per MemoryCategory (core/allocator.h)
  // The runtime's own bytes, apart from the allocator's: context, library handles, their workspaces,
  // scratch of kernels that return a value to the host. Each part named.
  std::vector<std::pair<std::string, size_t>> runtime_parts;
  size_t runtime_bytes() const {
    size_t n = 0;
    for (const auto& part : runtime_parts) n += part.second;
    return n;
  }
  // The part of runtime_bytes that are buffers the runtime allocated itself (workspaces, scratch), as
  // opposed to what the context and library handles take inside the driver.
  size_t scratch_bytes = 0;
  // From the driver: the device's memory, and total minus the lowest free memory seen by
  // sample_memory() (other processes on the same device included).
  size_t total_bytes = 0, peak_used_bytes = 0;
};

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

  // ---- Overlapped uploads (training/batch_stager.h). The defaults suit a synchronous device. ----
  // Host memory that uploads can read while the host goes on (CUDA: page-locked); plain host memory
  // on the CPU.
  virtual Allocator& pinned_allocator();
  virtual std::unique_ptr<DeviceEvent> create_event() { return std::make_unique<DeviceEvent>(); }
  // Queues a copy of `bytes` from pinned host memory `src` to this device's memory `dst` on the
  // device's copy queue, behind `after` (null: nothing), and records `done` behind it; returns at once.
  // `src` must stay unchanged and `dst` unread until `done` has happened.
  virtual void upload_async(void* dst, const void* src, size_t bytes, const DeviceEvent* after, DeviceEvent& done);
  // Compute work queued after this call starts after `event`.
  virtual void compute_waits(const DeviceEvent& event) {}
  // Records `event` behind all compute work queued so far.
  virtual void record_compute(DeviceEvent& event) {}
  // Blocks the host until `event` has happened.
  virtual void host_waits(const DeviceEvent& event) {}

  // ---- Accounting and modes ----
  virtual DeviceMemoryStats memory_stats() { return {}; }
  // Reads the device's free memory from the driver and keeps the lowest value seen (the peak of
  // DeviceMemoryStats); called at step boundaries.
  virtual void sample_memory() {}
  // Whether library algorithms must give the same bits run to run (config key cuda.deterministic).
  // The CPU kernels always do.
  virtual void set_deterministic(bool on) {}
};

// The runtime of `device`. ConfigError when CUDA is asked for and no CUDA runtime is installed.
DeviceRuntime& device_runtime(Device device);
// Installs the runtime of a non-CPU device (ops/cuda/ does this for CUDA).
void install_device_runtime(DeviceRuntime* runtime);

}  // namespace frugal
