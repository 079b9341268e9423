// Softmax cross-entropy and the count of correct predictions over logits [N, K] (contracts:
// ops/cpu/loss_cpu.h); the row arithmetic is ops/softmax_math.h, shared with the CPU tests. Rows go one
// per warp. The mean loss is summed in a fixed order on the device (kLossChunks blocks of rows, each
// block's warps in order, then the blocks in order) into runtime-owned scratch (dense_scratch_cuda.h),
// and only the scalar travels back; the forward waits for it, as the interface says.
#include <climits>
#include <string>

#include "core/error.h"
#include "ops/cuda/dense_kernels_cuda.h"
#include "ops/cuda/dense_scratch_cuda.h"
#include "ops/cuda/launch_cuda.cuh"
#include "ops/softmax_math.h"

namespace frugal::cuda {
namespace sm = softmax_math;
namespace {

constexpr int kRowWarps = 4;  // warps per block, each a row at a time

void check_shape(int64_t n, int64_t k, float label_smoothing, const char* where) {
  FRUGAL_CHECK(n >= 1 && k >= 1, ShapeError,
               std::string(where) + ": logits must be [N, K] with N, K >= 1, got [" + std::to_string(n) + ", " +
                   std::to_string(k) + "]");
  FRUGAL_CHECK(label_smoothing >= 0.0f && label_smoothing <= 1.0f, ConfigError,
               std::string(where) + ": label_smoothing must be in [0, 1], got " + std::to_string(label_smoothing));
}

// The row's first maximum (softmax_math.h), identical in every lane of the warp: the merge is
// commutative and associative, so the butterfly's order does not matter.
__device__ sm::ArgMax warp_argmax(const float* z, int64_t k, int lane) {
  sm::ArgMax a = sm::argmax_empty();
  for (int64_t j = lane; j < k; j += 32) a = sm::argmax_take(a, z[j], j);
  for (int width = 16; width > 0; width /= 2) {
    sm::ArgMax other;
    other.value = __shfl_xor_sync(0xffffffffu, a.value, width);
    other.index = __shfl_xor_sync(0xffffffffu, a.index, width);
    a = sm::argmax_merge(a, other);
  }
  return sm::argmax_finish(a, z[0]);
}

// A butterfly sum: after each step both partners hold the same (commutative) sum, so every lane ends
// with the same bits.
__device__ double warp_sum(double v) {
  for (int width = 16; width > 0; width /= 2) v += __shfl_xor_sync(0xffffffffu, v, width);
  return v;
}

__global__ void softmax_xent_chunks_kernel(int64_t n, int64_t k, const float* logits, const int32_t* labels, double eps,
                                           float* probs, double* chunk_sums, HostResult* result) {
  __shared__ double warp_losses[kRowWarps];
  const int warp = static_cast<int>(threadIdx.x / 32), lane = static_cast<int>(threadIdx.x % 32);
  const int64_t begin = sm::chunk_begin(n, blockIdx.x), end = sm::chunk_begin(n, blockIdx.x + 1);
  double loss = 0.0;  // this warp's rows, in order
  for (int64_t r = begin + warp; r < end; r += kRowWarps) {
    const float* z = logits + r * k;
    float* p = probs + r * k;
    const float z_max = warp_argmax(z, k, lane).value;
    double exp_sum = 0.0, z_sum = 0.0;
    for (int64_t j = lane; j < k; j += 32) {
      const float e = sm::shifted_exp(z[j], z_max);
      p[j] = e;
      exp_sum += e;
      z_sum += z[j];
    }
    exp_sum = warp_sum(exp_sum);
    z_sum = warp_sum(z_sum);
    const float inv = sm::inverse_sum(exp_sum);
    for (int64_t j = lane; j < k; j += 32) p[j] *= inv;  // the lane's own writes
    const int32_t label = labels[r];
    const bool valid = label >= 0 && label < k;
    if (!valid && lane == 0) atomicMin(&result->bad_row, static_cast<long long>(r));  // integer: order-free
    if (lane == 0) loss += sm::row_loss(z_max, exp_sum, valid ? z[label] : 0.0f, z_sum, eps, k);
  }
  if (lane == 0) warp_losses[warp] = loss;
  __syncthreads();
  if (threadIdx.x == 0) {
    double sum = 0.0;
    for (int w = 0; w < kRowWarps; ++w) sum += warp_losses[w];
    chunk_sums[blockIdx.x] = sum;
  }
}

__global__ void loss_mean_kernel(int64_t n, const double* chunk_sums, HostResult* result) {
  double total = 0.0;
  for (int64_t c = 0; c < sm::kLossChunks; ++c) total += chunk_sums[c];
  result->loss = static_cast<float>(total / static_cast<double>(n));
}

__global__ void count_correct_kernel(int64_t n, int64_t k, const float* logits, const int32_t* labels,
                                     HostResult* result) {
  const int lane = static_cast<int>(threadIdx.x % 32);
  const int64_t warps = static_cast<int64_t>(gridDim.x) * (blockDim.x / 32);
  for (int64_t r = static_cast<int64_t>(blockIdx.x) * (blockDim.x / 32) + threadIdx.x / 32; r < n; r += warps) {
    const sm::ArgMax a = warp_argmax(logits + r * k, k, lane);
    if (lane == 0 && a.index == labels[r]) atomicAdd(&result->count, 1ull);  // integer: order-free
  }
}

// Copies the device result to the pinned host copy and waits for it.
const HostResult& fetch_result(DenseScratch& scratch) {
  check(cudaMemcpyAsync(scratch.host_result, scratch.device_result, sizeof(HostResult), cudaMemcpyDeviceToHost,
                        compute_stream()),
        "cudaMemcpyAsync (loss result)");
  check(cudaStreamSynchronize(compute_stream()), "cudaStreamSynchronize (loss result)");
  return *scratch.host_result;
}

}  // namespace

float softmax_xent_forward(int64_t n, int64_t k, const float* logits, const int32_t* labels, float label_smoothing,
                           float* probs) {
  const char* where = "softmax_xent_forward (cuda)";
  check_shape(n, k, label_smoothing, where);
  DenseScratch& scratch = dense_scratch();
  HostResult init{};
  init.bad_row = LLONG_MAX;
  *scratch.host_result = init;
  check(cudaMemcpyAsync(scratch.device_result, scratch.host_result, sizeof(HostResult), cudaMemcpyHostToDevice,
                        compute_stream()),
        "cudaMemcpyAsync (loss result)");
  softmax_xent_chunks_kernel<<<static_cast<unsigned>(sm::kLossChunks), 32 * kRowWarps, 0, compute_stream()>>>(
      n, k, logits, labels, static_cast<double>(label_smoothing), probs, scratch.loss_chunks, scratch.device_result);
  check(cudaGetLastError(), where);
  loss_mean_kernel<<<1, 1, 0, compute_stream()>>>(n, scratch.loss_chunks, scratch.device_result);
  check(cudaGetLastError(), where);
  const HostResult& r = fetch_result(scratch);
  if (r.bad_row < n) {
    int32_t label = 0;
    check(cudaMemcpy(&label, labels + r.bad_row, sizeof label, cudaMemcpyDeviceToHost), "cudaMemcpy (bad label)");
    throw DataError(std::string(where) + ": sample " + std::to_string(r.bad_row) + " has label " +
                    std::to_string(label) + ", expected a class in [0, " + std::to_string(k) + ")");
  }
  return r.loss;
}

void softmax_xent_backward(int64_t n, int64_t k, const float* probs, const int32_t* labels, float label_smoothing,
                           float grad_scale, float* dlogits) {
  check_shape(n, k, label_smoothing, "softmax_xent_backward (cuda)");
  const sm::GradScalars s = sm::grad_scalars(n, k, label_smoothing, grad_scale);
  for_each_index(n * k, "softmax_xent_backward", [=] __device__(int64_t i) {
    const int64_t r = i / k;
    dlogits[i] = sm::grad(s, probs[i], i - r * k == labels[r]);
  });
}

int64_t count_correct(int64_t n, int64_t k, const float* logits, const int32_t* labels) {
  if (n <= 0 || k <= 0) return 0;
  DenseScratch& scratch = dense_scratch();
  check(cudaMemsetAsync(&scratch.device_result->count, 0, sizeof(unsigned long long), compute_stream()),
        "cudaMemsetAsync (count)");
  const int64_t blocks = (n + kRowWarps - 1) / kRowWarps;
  count_correct_kernel<<<static_cast<unsigned>(blocks < 4096 ? blocks : 4096), 32 * kRowWarps, 0, compute_stream()>>>(
      n, k, logits, labels, scratch.device_result);
  check(cudaGetLastError(), "count_correct");
  return static_cast<int64_t>(fetch_result(scratch).count);
}

}  // namespace frugal::cuda
