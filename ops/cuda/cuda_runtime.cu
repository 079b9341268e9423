#include "ops/cuda/cuda_runtime.h"

#include <cstdio>
#include <mutex>

#include "core/allocator.h"
#include "core/device.h"
#include "core/error.h"

namespace frugal::cuda {
namespace {

// Device memory through cudaMalloc. The planners allocate their arena through it once, so a steady-state
// step performs no cudaMalloc (memory/static_planner.h).
class CudaAllocator final : public Allocator {
 public:
  void* allocate(size_t bytes, const AllocTag&) override {
    void* p = nullptr;
    if (bytes == 0) return nullptr;
    check(cudaMalloc(&p, bytes), "cudaMalloc");
    return p;
  }
  void deallocate(void* ptr, size_t) override {
    if (ptr) cudaFree(ptr);  // no throw from a destructor path
  }
  const char* name() const override { return "cuda"; }
  Device device() const override { return Device::CUDA; }
};

class CudaRuntime final : public DeviceRuntime {
 public:
  Device device() const override { return Device::CUDA; }
  Allocator& allocator() override { return allocator_; }
  void copy(void* dst, Device dst_device, const void* src, Device src_device, size_t bytes) override {
    if (!bytes) return;
    const cudaMemcpyKind kind = dst_device == Device::CPU
                                    ? (src_device == Device::CPU ? cudaMemcpyHostToHost : cudaMemcpyDeviceToHost)
                                    : (src_device == Device::CPU ? cudaMemcpyHostToDevice : cudaMemcpyDeviceToDevice);
    check(cudaMemcpyAsync(dst, src, bytes, kind, compute_stream()), "cudaMemcpyAsync");
    check(cudaStreamSynchronize(compute_stream()), "cudaStreamSynchronize");
  }
  void zero(void* dst, size_t bytes) override {
    if (bytes) check(cudaMemsetAsync(dst, 0, bytes, compute_stream()), "cudaMemsetAsync");
  }
  void synchronize() override { check(cudaStreamSynchronize(compute_stream()), "cudaStreamSynchronize"); }

 private:
  CudaAllocator allocator_;
};

struct State {
  cudaStream_t stream = nullptr;
  cublasHandle_t cublas = nullptr;
  CudaRuntime runtime;
};

State* state = nullptr;

State& started() {
  FRUGAL_CHECK(state, InternalError, "the CUDA runtime is used before start_runtime()");
  return *state;
}

}  // namespace

void check(cudaError_t status, const char* what) {
  if (status != cudaSuccess) throw Error(std::string("CUDA ") + what + ": " + cudaGetErrorString(status));
}

void check(cublasStatus_t status, const char* what) {
  if (status != CUBLAS_STATUS_SUCCESS)
    throw Error(std::string("cuBLAS ") + what + ": status " + std::to_string(static_cast<int>(status)));
}

void start_runtime() {
  static std::once_flag once;
  std::call_once(once, [] {
    int count = 0;
    const cudaError_t status = cudaGetDeviceCount(&count);
    if (status != cudaSuccess || count == 0)
      throw ConfigError(std::string("device 'cuda': no usable GPU is visible (") +
                        (status != cudaSuccess ? cudaGetErrorString(status) : "0 devices") + ")");
    auto* s = new State;  // lives as long as the process: CUDA tensors may outlive any scope
    check(cudaSetDevice(0), "cudaSetDevice");
    check(cudaStreamCreateWithFlags(&s->stream, cudaStreamNonBlocking), "cudaStreamCreate");
    check(cublasCreate(&s->cublas), "cublasCreate");
    check(cublasSetStream(s->cublas, s->stream), "cublasSetStream");
    state = s;
    install_device_runtime(&s->runtime);
  });
  started();  // a failed first start leaves no state: every later call fails the same way
}

cudaStream_t compute_stream() { return started().stream; }
cublasHandle_t cublas() { return started().cublas; }

std::string describe_device() {
  cudaDeviceProp p{};
  check(cudaGetDeviceProperties(&p, 0), "cudaGetDeviceProperties");
  int driver = 0, runtime = 0;
  cudaDriverGetVersion(&driver);
  cudaRuntimeGetVersion(&runtime);
  char line[512];
  std::snprintf(line, sizeof line, "cuda: %s (sm_%d%d, %.1f GiB), driver %d.%d, runtime %d.%d", p.name, p.major,
                p.minor, static_cast<double>(p.totalGlobalMem) / (1 << 30), driver / 1000, driver % 1000 / 10,
                runtime / 1000, runtime % 1000 / 10);
  return line;
}

}  // namespace frugal::cuda
