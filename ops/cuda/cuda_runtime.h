// The CUDA runtime of frugal: device selection, the compute stream and library handles
// (cuda_context.h), a copy stream for uploads that overlap the compute, and the DeviceRuntime (device
// and pinned-host allocators, copies, events, memory accounting) that core uses for CUDA tensors.
#pragma once
#include <functional>
#include <string>

#include "ops/cuda/cuda_context.h"

namespace frugal::cuda {

// Starts the runtime once: checks that a GPU is visible, creates the streams and handles and installs
// the DeviceRuntime. ConfigError naming the cause (no driver, no GPU, driver too old) otherwise.
void start_runtime();

// "cuda: NVIDIA H100 80GB HBM3 (sm_90, 79.1 GiB), driver 13.0, runtime 13.0"
std::string describe_device();

// Why no GPU can be used ("no NVIDIA driver is installed", "0 devices", the driver's error), or ""
// when one can. Starts nothing.
std::string why_no_gpu();

// The stream uploads run on (DeviceRuntime::upload_async); the compute stream waits for them through
// events, never by synchronising the host.
cudaStream_t copy_stream();

// ---- The runtime's own device memory, reported apart from the planned bytes (docs/gpu.md) ----

// Device scratch the backend keeps for itself under `what` (a library workspace, the per-sample losses
// a reduction reads): at least `bytes`, allocated at the first call and whenever a call asks for more,
// so it settles in the first step. Stream-ordered like everything on the compute stream.
void* runtime_scratch(const char* what, size_t bytes);

// Runs `create` (e.g. cudnnCreate) and counts the device memory the driver reports it took as the
// runtime's bytes under `what` (the driver counts in pages, so small handles may read 0 or 2 MiB).
void account_library_bytes(const char* what, const std::function<void()>& create);

}  // namespace frugal::cuda
