#include "ops/cuda/dense_scratch_cuda.h"

#include <mutex>

#include "ops/cuda/cuda_context.h"
#include "ops/softmax_math.h"

namespace frugal::cuda {
namespace {

// 64 Ki channel slots: 1 MiB of partial sums + 1 MiB of coefficients. Reductions over more channels
// run in groups of this many (ops/cuda/channel_reduce_cuda.cuh).
constexpr int64_t kChannelSlots = int64_t{1} << 16;

size_t bytes_of(const DenseScratch& s) {
  return static_cast<size_t>(s.channel_slots) * (sizeof(double2) + sizeof(float4)) +
         softmax_math::kLossChunks * sizeof(double) + sizeof(HostResult);
}

DenseScratch* scratch = nullptr;

}  // namespace

DenseScratch& dense_scratch() {
  static std::once_flag once;
  std::call_once(once, [] {
    auto* s = new DenseScratch;  // lives as long as the process, like the runtime's handles
    s->channel_slots = kChannelSlots;
    check(cudaMalloc(&s->channel_partials, kChannelSlots * sizeof(double2)), "cudaMalloc (channel partial sums)");
    check(cudaMalloc(&s->channel_coefficients, kChannelSlots * sizeof(float4)), "cudaMalloc (channel coefficients)");
    check(cudaMalloc(&s->loss_chunks, softmax_math::kLossChunks * sizeof(double)), "cudaMalloc (loss chunks)");
    check(cudaMalloc(&s->device_result, sizeof(HostResult)), "cudaMalloc (kernel result)");
    check(cudaMallocHost(&s->host_result, sizeof(HostResult)), "cudaMallocHost (kernel result)");
    scratch = s;
  });
  return *scratch;
}

size_t dense_scratch_bytes() { return scratch ? bytes_of(*scratch) : 0; }

}  // namespace frugal::cuda
