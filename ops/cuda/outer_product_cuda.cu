// CUDA kernels of outer-product sampling with memory (contract: ops/kernels.h, reference:
// ops/cpu/outer_product_cpu.h); the arithmetic is ops/outer_product_math.h. Scores: one block per row,
// squared norms in double over fixed lanes and a fixed tree, so a score is the same bits on every run.
#include <string>

#include "core/error.h"
#include "ops/cuda/cuda_context.h"
#include "ops/cuda/cuda_runtime.h"
#include "ops/cuda/grid_stride.h"
#include "ops/cuda/mode_kernels_cuda.h"
#include "ops/outer_product_math.h"

namespace frugal::cuda {
namespace {

void check_launch(const char* what) { check(cudaGetLastError(), what); }

// gather and forget get the chosen rows as a host array; kernels read them from a device copy in the
// runtime's scratch (cuda_runtime.h), not in the step's plan: it grows only when a call brings more rows
// than it holds, so a steady-state step never allocates. At most a batch of int64 indices, a few KiB.
// A copy from pageable memory is staged before cudaMemcpyAsync returns, so the caller may reuse `rows` at
// once; the kernels of an earlier call that read the old contents run before this copy in stream order.
const int64_t* rows_on_device(const int64_t* rows, int64_t k) {
  auto* d = static_cast<int64_t*>(runtime_scratch("outer-product rows", sizeof(int64_t) * k));
  check(cudaMemcpyAsync(d, rows, sizeof(int64_t) * k, cudaMemcpyHostToDevice, compute_stream()), "cudaMemcpyAsync");
  return d;
}

static_assert(outer_product::kScoreThreads <= 1024, "one block per row");

__global__ void scores_kernel(int64_t batch, int64_t slots, int64_t fx, int64_t fy, const float* x, const float* dy,
                              float* mem_x, float* mem_dy, double* scores) {
  __shared__ double lanes_x[outer_product::kScoreThreads];
  __shared__ double lanes_dy[outer_product::kScoreThreads];
  const int lane = static_cast<int>(threadIdx.x);
  for (int64_t b = blockIdx.x; b < batch; b += gridDim.x) {
    if (b < slots) {  // a_b = M_X,b + X_b, in place in the memory
      lanes_x[lane] = outer_product::lane_remember_and_sum(mem_x + b * fx, x + b * fx, fx, lane);
      lanes_dy[lane] = outer_product::lane_remember_and_sum(mem_dy + b * fy, dy + b * fy, fy, lane);
    } else {
      lanes_x[lane] = outer_product::lane_sum_of_squares(x + b * fx, fx, lane);
      lanes_dy[lane] = outer_product::lane_sum_of_squares(dy + b * fy, fy, lane);
    }
    __syncthreads();
    for (int width = outer_product::kScoreThreads / 2; width > 0; width /= 2) {
      outer_product::tree_level(lanes_x, width, lane);
      outer_product::tree_level(lanes_dy, width, lane);
      __syncthreads();
    }
    if (lane == 0) scores[b] = outer_product::score(lanes_x[0], lanes_dy[0]);
    __syncthreads();  // lanes[0] is read before the next row overwrites it
  }
}

// out[j, :] = row rows[j] of (rows[j] < slots ? memory : fresh), each row `f` floats.
__global__ void gather_kernel(int64_t k, const int64_t* rows, int64_t slots, int64_t f, const float* fresh,
                              const float* memory, float* out) {
  for (int64_t e = grid_first(); e < k * f; e += grid_stride()) {
    const int64_t j = e / f, b = rows[j];
    out[e] = (b < slots ? memory : fresh)[b * f + (e - j * f)];
  }
}

// Memory rows rows[j] < slots of `f` floats become 0.
__global__ void clear_rows_kernel(int64_t k, const int64_t* rows, int64_t slots, int64_t f, float* memory) {
  for (int64_t e = grid_first(); e < k * f; e += grid_stride()) {
    const int64_t j = e / f, b = rows[j];
    if (b < slots) memory[b * f + (e - j * f)] = 0.0f;
  }
}

__global__ void scale_kernel(int64_t n, float factor, float* v) {
  for (int64_t i = grid_first(); i < n; i += grid_stride()) v[i] = hd::mul_rn(v[i], factor);
}

}  // namespace

void outer_product_scores(int64_t batch, int64_t slots, int64_t fx, int64_t fy, const float* x, const float* dy,
                          float* mem_x, float* mem_dy, double* scores) {
  if (batch <= 0) return;
  const unsigned blocks = static_cast<unsigned>(batch < 65535 * 8 ? batch : 65535 * 8);
  scores_kernel<<<blocks, outer_product::kScoreThreads, 0, compute_stream()>>>(batch, slots, fx, fy, x, dy, mem_x,
                                                                               mem_dy, scores);
  check_launch("outer_product_scores launch");
}

void outer_product_gather(int64_t k, const int64_t* rows, int64_t slots, int64_t fx, int64_t fy, const float* x,
                          const float* dy, const float* mem_x, const float* mem_dy, float* xs, float* dys) {
  if (k <= 0) return;
  const int64_t* d_rows = rows_on_device(rows, k);
  if (k * fx > 0) {
    gather_kernel<<<blocks_for(k * fx, kThreadsPerBlock), kThreadsPerBlock, 0, compute_stream()>>>(k, d_rows, slots, fx,
                                                                                                   x, mem_x, xs);
    check_launch("outer_product_gather launch");
  }
  if (k * fy > 0) {
    gather_kernel<<<blocks_for(k * fy, kThreadsPerBlock), kThreadsPerBlock, 0, compute_stream()>>>(k, d_rows, slots, fy,
                                                                                                   dy, mem_dy, dys);
    check_launch("outer_product_gather launch");
  }
}

void outer_product_forget(int64_t k, const int64_t* rows, int64_t slots, int64_t fx, int64_t fy, float decay_factor,
                          float* mem_x, float* mem_dy) {
  if (k > 0 && slots > 0) {
    const int64_t* d_rows = rows_on_device(rows, k);
    if (k * fx > 0) {
      clear_rows_kernel<<<blocks_for(k * fx, kThreadsPerBlock), kThreadsPerBlock, 0, compute_stream()>>>(
          k, d_rows, slots, fx, mem_x);
      check_launch("outer_product_forget launch");
    }
    if (k * fy > 0) {
      clear_rows_kernel<<<blocks_for(k * fy, kThreadsPerBlock), kThreadsPerBlock, 0, compute_stream()>>>(
          k, d_rows, slots, fy, mem_dy);
      check_launch("outer_product_forget launch");
    }
  }
  if (decay_factor == 1.0f) return;
  if (slots * fx > 0) {
    scale_kernel<<<blocks_for(slots * fx, kThreadsPerBlock), kThreadsPerBlock, 0, compute_stream()>>>(
        slots * fx, decay_factor, mem_x);
    check_launch("outer_product_forget launch");
  }
  if (slots * fy > 0) {
    scale_kernel<<<blocks_for(slots * fy, kThreadsPerBlock), kThreadsPerBlock, 0, compute_stream()>>>(
        slots * fy, decay_factor, mem_dy);
    check_launch("outer_product_forget launch");
  }
}

}  // namespace frugal::cuda
