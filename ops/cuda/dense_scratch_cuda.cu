#include "ops/cuda/dense_scratch_cuda.h"

#include <mutex>

#include "ops/cuda/cuda_context.h"
#include "ops/cuda/cuda_runtime.h"
#include "ops/softmax_math.h"

namespace frugal::cuda {
namespace {

// 64 Ki channel slots: 1 MiB of partial sums + 1 MiB of coefficients. Reductions over more channels
// run in groups of this many (ops/cuda/channel_reduce_cuda.cuh).
constexpr int64_t kChannelSlots = int64_t{1} << 16;

DenseScratch* scratch = nullptr;

}  // namespace

DenseScratch& dense_scratch() {
  static std::once_flag once;
  std::call_once(once, [] {
    auto* s = new DenseScratch;  // lives as long as the process, like the runtime's handles
    s->channel_slots = kChannelSlots;
    // The runtime's own bytes (cuda_runtime.h): reported apart from the planned ones.
    s->channel_partials =
        static_cast<double2*>(runtime_scratch("channel partial sums", kChannelSlots * sizeof(double2)));
    s->channel_coefficients =
        static_cast<float4*>(runtime_scratch("channel coefficients", kChannelSlots * sizeof(float4)));
    s->loss_chunks = static_cast<double*>(runtime_scratch("loss chunks", softmax_math::kLossChunks * sizeof(double)));
    s->device_result = static_cast<HostResult*>(runtime_scratch("kernel result", sizeof(HostResult)));
    check(cudaMallocHost(&s->host_result, sizeof(HostResult)), "cudaMallocHost (kernel result)");
    scratch = s;
  });
  return *scratch;
}

}  // namespace frugal::cuda
