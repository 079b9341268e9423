#include "ops/cuda/cuda_runtime.h"

#include <cstdio>
#include <mutex>

#include "core/allocator.h"
#include "core/device.h"
#include "core/error.h"
#include "ops/cuda/conv_algorithms.h"
#include "ops/cuda/cuda_memory.h"


namespace frugal::cuda {
namespace {

// cuBLAS's recommended workspace: 32 MiB on Hopper and later, 4 MiB before (cublasSetWorkspace).
// Handing it over explicitly makes it a counted runtime buffer instead of one cuBLAS takes unseen.
size_t cublas_workspace_bytes(int major) { return (major >= 9 ? 32u : 4u) << 20; }

class CudaEvent final : public DeviceEvent {
 public:
  CudaEvent() { check(cudaEventCreateWithFlags(&event_, cudaEventDisableTiming), "cudaEventCreate"); }
  ~CudaEvent() override { cudaEventDestroy(event_); }
  // Waiting on an event that was never recorded returns at once (CUDA semantics), which is what a
  // fresh staging slot needs.
  static cudaEvent_t of(const DeviceEvent& e) { return static_cast<const CudaEvent&>(e).event_; }

 private:
  cudaEvent_t event_ = nullptr;
};

class CudaRuntime final : public DeviceRuntime {
 public:
  Device device() const override { return Device::CUDA; }
  Allocator& allocator() override { return allocator_; }
  Allocator& pinned_allocator() override { return pinned_; }

  void copy(void* dst, Device dst_device, const void* src, Device src_device, size_t bytes) override {
    if (!bytes) return;
    const cudaMemcpyKind kind = dst_device == Device::CPU
                                    ? (src_device == Device::CPU ? cudaMemcpyHostToHost : cudaMemcpyDeviceToHost)
                                    : (src_device == Device::CPU ? cudaMemcpyHostToDevice : cudaMemcpyDeviceToDevice);
    check(cudaMemcpyAsync(dst, src, bytes, kind, compute_stream()), "cudaMemcpyAsync");
    // Device to device stays queued: every reader of device memory is on the compute stream behind it,
    // and the host reaches device bytes only through a copy that waits. Host memory on either side may
    // change or be read as soon as this returns, so those copies wait.
    if (kind != cudaMemcpyDeviceToDevice) check(cudaStreamSynchronize(compute_stream()), "cudaStreamSynchronize");
  }
  void zero(void* dst, size_t bytes) override {
    if (bytes) check(cudaMemsetAsync(dst, 0, bytes, compute_stream()), "cudaMemsetAsync");
  }
  void synchronize() override { check(cudaStreamSynchronize(compute_stream()), "cudaStreamSynchronize"); }

  std::unique_ptr<DeviceEvent> create_event() override { return std::make_unique<CudaEvent>(); }
  void upload_async(void* dst, const void* src, size_t bytes, const DeviceEvent* after, DeviceEvent& done) override {
    if (after) check(cudaStreamWaitEvent(copy_stream(), CudaEvent::of(*after), 0), "cudaStreamWaitEvent");
    if (bytes)
      check(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, copy_stream()), "cudaMemcpyAsync (upload)");
    check(cudaEventRecord(CudaEvent::of(done), copy_stream()), "cudaEventRecord");
  }
  void compute_waits(const DeviceEvent& event) override {
    check(cudaStreamWaitEvent(compute_stream(), CudaEvent::of(event), 0), "cudaStreamWaitEvent");
  }
  void record_compute(DeviceEvent& event) override {
    check(cudaEventRecord(CudaEvent::of(event), compute_stream()), "cudaEventRecord");
  }
  void host_waits(const DeviceEvent& event) override {
    check(cudaEventSynchronize(CudaEvent::of(event)), "cudaEventSynchronize");
  }

  DeviceMemoryStats memory_stats() override {
    DeviceMemoryStats s;
    s.available = true;
    allocator_.add_stats(s);
    ledger_.add_stats(s);
    return s;
  }
  void sample_memory() override { ledger_.sample(); }
  // The switch itself lives with the cuDNN/cuBLAS choice it steers (conv_algorithms.h).
  void set_deterministic(bool on) override { cuda::set_deterministic(on); }

  RuntimeLedger& ledger() { return ledger_; }

 private:
  CudaAllocator allocator_;
  PinnedHostAllocator pinned_;
  RuntimeLedger ledger_;
};

struct State {
  cudaStream_t stream = nullptr, copy = nullptr;
  cublasHandle_t cublas = nullptr;
  CudaRuntime runtime;
};

State* state = nullptr;

State& started() {
  FRUGAL_CHECK(state, InternalError, "the CUDA runtime is used before start_runtime()");
  return *state;
}

std::string version_string(int v) { return std::to_string(v / 1000) + "." + std::to_string(v % 1000 / 10); }

}  // namespace

void check(cudaError_t status, const char* what) {
  if (status != cudaSuccess) throw Error(std::string("CUDA ") + what + ": " + cudaGetErrorString(status));
}

void check(cublasStatus_t status, const char* what) {
  if (status != CUBLAS_STATUS_SUCCESS)
    throw Error(std::string("cuBLAS ") + what + ": status " + std::to_string(static_cast<int>(status)));
}

std::string why_no_gpu() {
  int driver = 0;
  if (cudaDriverGetVersion(&driver) != cudaSuccess || driver == 0)
    return "no NVIDIA driver is installed: libcuda.so.1 not found";
  int count = 0;
  const cudaError_t status = cudaGetDeviceCount(&count);
  if (status != cudaSuccess) {
    cudaGetLastError();
    int runtime = 0;
    cudaRuntimeGetVersion(&runtime);
    return std::string(cudaGetErrorString(status)) + "; driver " + version_string(driver) + ", runtime " +
           version_string(runtime);
  }
  return count == 0 ? "the driver sees 0 devices" : "";
}

namespace {

// Context, streams, cuBLAS and its workspace, each counted in the ledger. `state` is set before the
// library handles so that runtime_scratch and account_library_bytes can be used here.
void start_state(State* s) {
  check(cudaSetDevice(0), "cudaSetDevice");
  check(cudaFree(nullptr), "creating the context");
  RuntimeLedger& ledger = s->runtime.ledger();
  // What is in use once the context exists: the context itself, and whatever other processes hold.
  ledger.add("context (and other processes on the device)", ledger.used_now());
  check(cudaStreamCreateWithFlags(&s->stream, cudaStreamNonBlocking), "cudaStreamCreate");
  check(cudaStreamCreateWithFlags(&s->copy, cudaStreamNonBlocking), "cudaStreamCreate (copy)");
  state = s;
  account_library_bytes("cuBLAS handle", [s] { check(cublasCreate(&s->cublas), "cublasCreate"); });
  check(cublasSetStream(s->cublas, s->stream), "cublasSetStream");
  cudaDeviceProp p{};
  check(cudaGetDeviceProperties(&p, 0), "cudaGetDeviceProperties");
  const size_t workspace = cublas_workspace_bytes(p.major);
  check(cublasSetWorkspace(s->cublas, runtime_scratch("cuBLAS workspace", workspace), workspace),
        "cublasSetWorkspace");
  ledger.sample();
}

}  // namespace

void start_runtime() {
  static std::once_flag once;
  std::call_once(once, [] {
    const std::string why = why_no_gpu();
    if (!why.empty()) throw ConfigError("device 'cuda': no usable GPU is visible (" + why + ")");
    auto* s = new State;  // lives as long as the process: CUDA tensors may outlive any scope
    try {
      start_state(s);
    } catch (...) {
      state = nullptr;  // the next call tries again and fails the same way
      throw;
    }
    install_device_runtime(&s->runtime);
  });
  started();
}

cudaStream_t compute_stream() { return started().stream; }
cudaStream_t copy_stream() { return started().copy; }
cublasHandle_t cublas() { return started().cublas; }

void* runtime_scratch(const char* what, size_t bytes) { return started().runtime.ledger().scratch(what, bytes); }

void account_library_bytes(const char* what, const std::function<void()>& create) {
  RuntimeLedger& ledger = started().runtime.ledger();
  const size_t before = ledger.used_now();
  create();
  const size_t after = ledger.used_now();
  ledger.add(what, after > before ? after - before : 0);
}


std::string describe_device() {
  cudaDeviceProp p{};
  check(cudaGetDeviceProperties(&p, 0), "cudaGetDeviceProperties");
  int driver = 0, runtime = 0;
  cudaDriverGetVersion(&driver);
  cudaRuntimeGetVersion(&runtime);
  char line[512];
  std::snprintf(line, sizeof line, "cuda: %s (sm_%d%d, %.1f GiB), driver %s, runtime %s%s", p.name, p.major, p.minor,
                static_cast<double>(p.totalGlobalMem) / (1 << 30), version_string(driver).c_str(),
                version_string(runtime).c_str(), deterministic() ? "" : ", non-deterministic algorithms allowed");
  return line;
}

}  // namespace frugal::cuda
