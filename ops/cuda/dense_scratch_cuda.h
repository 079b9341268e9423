// Runtime-owned scratch of the dense kernels: per-channel partial sums and coefficients of the
// fixed-order channel reductions (batch norm, bias gradients), the loss's fixed chunks, and the small
// results that travel back to the host (the mean loss, counts, the first sample with a bad label).
// It is allocated ONCE, on first use, at a fixed size, and never grows or shrinks, so no kernel
// allocates in steady state; its bytes belong to the runtime's own memory in the memory report
// (through runtime_scratch, cuda_runtime.h). All kernels run on the one compute stream in call order, and the backend is
// driven from one host thread at a time, so consecutive kernels may reuse it.
#pragma once
#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>

namespace frugal::cuda {

// What one kernel that returns to the host leaves for it (pinned host memory, copied once).
struct HostResult {
  float loss;                // softmax_xent_forward: the mean loss
  unsigned long long count;  // count_correct
  long long bad_row;         // softmax_xent_forward: first sample whose label is out of range (LLONG_MAX: none)
};

struct DenseScratch {
  double2* channel_partials = nullptr;     // [channel_slots]: per (channel, part) sums of two terms
  float4* channel_coefficients = nullptr;  // [channel_slots]: per-channel values for the elementwise pass
  int64_t channel_slots = 0;
  double* loss_chunks = nullptr;        // [softmax_math::kLossChunks]
  HostResult* device_result = nullptr;  // device copy of the result, written by kernels
  HostResult* host_result = nullptr;    // pinned: cudaMemcpyAsync target
};

// The scratch, allocated on first use.
DenseScratch& dense_scratch();

}  // namespace frugal::cuda
