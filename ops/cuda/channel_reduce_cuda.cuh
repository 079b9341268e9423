// Per-channel reductions over x [N, C, S] (channel ch is the N runs of S values at (i*C + ch)*S) in a
// fixed order, without float atomics, so a result depends only on the data and the shape:
//   1. partial sums: channel ch's m = N*S values are cut into `parts` fixed ranges (how many depends on
//      m and C only); one block sums a range, each thread its strided elements in order, then a fixed
//      shared-memory tree; the block writes two double sums into the runtime-owned scratch;
//   2. finish: one thread per channel adds its parts in order and turns the totals into the channel's
//      results (written by the caller's functor) and up to four float coefficients;
//   3. apply (optional): one thread per element computes its output from its channel's coefficients.
// Channels run in groups of at most DenseScratch::channel_slots, so any C fits the fixed scratch.
//
// Terms:  __device__ double2 operator()(int64_t ch, int64_t at) const   the two terms of element x[at]
// Finish: __device__ float4 operator()(int64_t ch, double a, double b) const
// Apply:  __device__ void operator()(int64_t ch, int64_t at, float4 coefficients) const
#pragma once
#include <cstdint>

#include "core/error.h"
#include "ops/cuda/cuda_context.h"
#include "ops/cuda/dense_scratch_cuda.h"

namespace frugal::cuda {

constexpr int kReduceThreads = 256;          // a power of two: the tree halves it
constexpr int64_t kMinValuesPerPart = 4096;  // fewer per block and the launch costs more than the sums
constexpr int64_t kMaxParts = 64;

struct ChannelGroup {
  int64_t n, c, s;          // the tensor
  int64_t first, count;     // channels [first, first + count)
  int64_t parts, part_len;  // values of a channel per partial sum
};

// q = e / d and r = e % d, in 32 bits where e fits them (a quarter of the cost of a 64-bit division).
__device__ inline void divide(int64_t e, int64_t d, bool small, int64_t& q, int64_t& r) {
  if (small) {
    const uint32_t e32 = static_cast<uint32_t>(e), d32 = static_cast<uint32_t>(d), q32 = e32 / d32;
    q = q32;
    r = e32 - q32 * d32;
  } else {
    q = e / d;
    r = e - q * d;
  }
}

// Where value e (0 <= e < N*S, in run order) of channel ch lies.
__device__ inline int64_t channel_value_at(const ChannelGroup& g, int64_t ch, int64_t e, bool small) {
  int64_t i, j;
  divide(e, g.s, small, i, j);
  return (i * g.c + ch) * g.s + j;
}

// An Apply for reductions without an elementwise pass (pass a null pointer of it).
struct NoApply {
  __device__ void operator()(int64_t, int64_t, float4) const {}
};

template <class Terms>
__global__ void channel_partials_kernel(ChannelGroup g, Terms terms, double2* partials) {
  __shared__ double sum_a[kReduceThreads], sum_b[kReduceThreads];
  const int64_t local = blockIdx.x / g.parts, part = blockIdx.x % g.parts, ch = g.first + local;
  const int64_t m = g.n * g.s, begin = part * g.part_len, end = begin + g.part_len < m ? begin + g.part_len : m;
  const bool small = m <= 0xffffffffll;
  double a = 0.0, b = 0.0;
  for (int64_t e = begin + threadIdx.x; e < end; e += kReduceThreads) {
    const double2 t = terms(ch, channel_value_at(g, ch, e, small));
    a += t.x;
    b += t.y;
  }
  sum_a[threadIdx.x] = a;
  sum_b[threadIdx.x] = b;
  __syncthreads();
  for (int width = kReduceThreads / 2; width > 0; width /= 2) {
    if (threadIdx.x < width) {
      sum_a[threadIdx.x] += sum_a[threadIdx.x + width];
      sum_b[threadIdx.x] += sum_b[threadIdx.x + width];
    }
    __syncthreads();
  }
  if (threadIdx.x == 0) partials[blockIdx.x] = make_double2(sum_a[0], sum_b[0]);
}

template <class Finish>
__global__ void channel_finish_kernel(ChannelGroup g, const double2* partials, Finish finish, float4* coefficients) {
  const int64_t local = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (local >= g.count) return;
  double a = 0.0, b = 0.0;
  for (int64_t p = 0; p < g.parts; ++p) {
    const double2 t = partials[local * g.parts + p];
    a += t.x;
    b += t.y;
  }
  coefficients[local] = finish(g.first + local, a, b);
}

// Per-channel coefficients without sums (inference batch norm): finish(ch, 0, 0).
template <class Finish>
__global__ void channel_coefficients_kernel(ChannelGroup g, Finish finish, float4* coefficients) {
  const int64_t local = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (local < g.count) coefficients[local] = finish(g.first + local, 0.0, 0.0);
}

// One thread per value of the group's channels: value (i, local, j) at ((i*C + first + local)*S + j).
template <class Apply>
__global__ void channel_apply_kernel(ChannelGroup g, const float4* coefficients, Apply apply) {
  const int64_t total = g.n * g.count * g.s, stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  const bool small = total <= 0xffffffffll;
  for (int64_t e = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; e < total; e += stride) {
    int64_t row, j, i, local;
    divide(e, g.s, small, row, j);
    divide(row, g.count, small, i, local);
    const int64_t ch = g.first + local;
    apply(ch, (i * g.c + ch) * g.s + j, coefficients[local]);
  }
}

// The groups and parts of a reduction over x [n, c, s], in the scratch's slots.
template <class Visit>
void for_each_channel_group(int64_t n, int64_t c, int64_t s, int64_t slots, Visit&& visit) {
  const int64_t m = n * s;
  const int64_t per_group = c < slots ? c : slots;
  int64_t parts = (m + kMinValuesPerPart - 1) / kMinValuesPerPart;
  if (parts > kMaxParts) parts = kMaxParts;
  if (parts > slots / per_group) parts = slots / per_group;
  if (parts < 1) parts = 1;
  const int64_t part_len = (m + parts - 1) / parts;
  for (int64_t first = 0; first < c; first += per_group) {
    const int64_t count = c - first < per_group ? c - first : per_group;
    visit(ChannelGroup{n, c, s, first, count, parts, part_len});
  }
}

inline unsigned channel_blocks(int64_t count, unsigned threads) {
  return static_cast<unsigned>((count + threads - 1) / threads);
}

// Sums terms over every channel, finishes each channel and, when `apply` is given, runs it over every
// value. `what` names the kernel in errors.
// Assumes N, C, S >= 0 and S >= 1 when N >= 1.
template <class Terms, class Finish, class Apply>
void reduce_channels(int64_t n, int64_t c, int64_t s, const Terms& terms, const Finish& finish, const Apply* apply,
                     const char* what) {
  if (c <= 0) return;  // N*S == 0 still finishes every channel, with sums of 0
  DenseScratch& scratch = dense_scratch();
  for_each_channel_group(n, c, s, scratch.channel_slots, [&](const ChannelGroup& g) {
    channel_partials_kernel<<<static_cast<unsigned>(g.count * g.parts), kReduceThreads, 0, compute_stream()>>>(
        g, terms, scratch.channel_partials);
    check(cudaGetLastError(), what);
    channel_finish_kernel<<<channel_blocks(g.count, 128), 128, 0, compute_stream()>>>(
        g, scratch.channel_partials, finish, scratch.channel_coefficients);
    check(cudaGetLastError(), what);
    if (apply) {
      channel_apply_kernel<<<blocks_for(g.n * g.count * g.s), 256, 0, compute_stream()>>>(
          g, scratch.channel_coefficients, *apply);
      check(cudaGetLastError(), what);
    }
  });
}

// Coefficients per channel from `finish` (no sums), then `apply` over every value.
template <class Finish, class Apply>
void map_channels(int64_t n, int64_t c, int64_t s, const Finish& finish, const Apply& apply, const char* what) {
  if (n <= 0 || c <= 0 || s <= 0) return;
  DenseScratch& scratch = dense_scratch();
  for_each_channel_group(n, c, s, scratch.channel_slots, [&](const ChannelGroup& g) {
    channel_coefficients_kernel<<<channel_blocks(g.count, 128), 128, 0, compute_stream()>>>(
        g, finish, scratch.channel_coefficients);
    check(cudaGetLastError(), what);
    channel_apply_kernel<<<blocks_for(g.n * g.count * g.s), 256, 0, compute_stream()>>>(g, scratch.channel_coefficients,
                                                                                        apply);
    check(cudaGetLastError(), what);
  });
}

}  // namespace frugal::cuda
