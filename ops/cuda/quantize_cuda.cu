// CUDA kernels of the K-bit quantized activations (contract: ops/kernels.h, reference:
// ops/cpu/quantize_cpu.h); the arithmetic is ops/quantize_math.h. Codes: one thread per group of 8
// codes (`bits` whole bytes), so the packed stream is byte-identical to the CPU's and decodes on either
// device. Channel statistics: one block per channel, a fixed lane per element and a fixed pairwise tree
// in double, so they are the same bits on every run (no atomics).
#include <string>

#include "core/error.h"
#include "ops/cuda/cuda_context.h"
#include "ops/cuda/grid_stride.h"
#include "ops/cuda/mode_kernels_cuda.h"
#include "ops/quantize_math.h"

namespace frugal::cuda {
namespace {

void check_bits(int bits, const char* fn) {
  FRUGAL_CHECK(bits >= 2 && bits <= 8, InternalError,
               std::string(fn) + ": bits must be in 2..8, got " + std::to_string(bits));
}

void check_launch(const char* what) { check(cudaGetLastError(), what); }

unsigned group_blocks(int64_t n, int64_t c, int64_t s) {
  return blocks_for(bitpack::group_count(n * c * s), kThreadsPerBlock);
}

static_assert(quant::kStatThreads <= 1024, "one block per channel");

__global__ void channel_mean_std_kernel(int64_t n, int64_t c, int64_t s, const float* y, float* mean, float* std) {
  __shared__ quant::ShiftedSums lanes[quant::kStatThreads];
  const int lane = static_cast<int>(threadIdx.x);
  for (int64_t ch = blockIdx.x; ch < c; ch += gridDim.x) {
    const double shift = y[ch * s];
    lanes[lane] = quant::lane_sums(n, c, s, ch, y, shift, lane);
    __syncthreads();
    for (int width = quant::kStatThreads / 2; width > 0; width /= 2) {
      quant::tree_level(lanes, width, lane);
      __syncthreads();
    }
    if (lane == 0)
      quant::mean_std_from_sums(shift, lanes[0].sum, lanes[0].sum_sq, static_cast<double>(n * s), mean + ch, std + ch);
    __syncthreads();  // lanes[0] is read before the next channel overwrites it
  }
}

__global__ void batchnorm_output_mean_std_kernel(int64_t c, const float* gamma, const float* beta,
                                                 const float* save_invstd, float eps, float* mean, float* std) {
  for (int64_t ch = grid_first(); ch < c; ch += grid_stride())
    quant::batchnorm_output_mean_std(gamma[ch], beta[ch], save_invstd[ch], eps, mean + ch, std + ch);
}

__global__ void relu_grid_kernel(int64_t c, const float* mean, const float* std, int bits, float* grid) {
  for (int64_t ch = grid_first(); ch < c; ch += grid_stride()) {
    const quant::GridRow row = quant::relu_grid_row(mean[ch], std[ch], bits);
    grid[kGridOffset * c + ch] = row.offset;
    grid[kGridStep * c + ch] = row.step;
    grid[kGridShift * c + ch] = row.shift;
  }
}

__global__ void quantize_kernel(int64_t n, int64_t c, int64_t s, const float* y, const float* grid, int bits,
                                uint8_t* packed) {
  const int64_t groups = bitpack::group_count(n * c * s);
  for (int64_t g = grid_first(); g < groups; g += grid_stride())
    quant::quantize_group(n, c, s, g, y, grid, bits, packed);
}

__global__ void dequantize_relu_kernel(int64_t n, int64_t c, int64_t s, const uint8_t* packed, const float* grid,
                                       int bits, float* h) {
  const int64_t groups = bitpack::group_count(n * c * s);
  for (int64_t g = grid_first(); g < groups; g += grid_stride())
    quant::dequantize_relu_group(n, c, s, g, packed, grid, bits, h);
}

__global__ void dequantize_normalized_kernel(int64_t n, int64_t c, int64_t s, const uint8_t* packed, const float* grid,
                                             int bits, const float* gamma, const float* beta, float* xhat) {
  const int64_t groups = bitpack::group_count(n * c * s);
  for (int64_t g = grid_first(); g < groups; g += grid_stride())
    quant::dequantize_normalized_group(n, c, s, g, packed, grid, bits, gamma, beta, xhat);
}

__global__ void relu_backward_from_codes_kernel(int64_t n, int64_t c, int64_t s, const uint8_t* packed,
                                                const float* grid, int bits, const float* dy, float* dx) {
  const int64_t groups = bitpack::group_count(n * c * s);
  for (int64_t g = grid_first(); g < groups; g += grid_stride())
    quant::relu_backward_group(n, c, s, g, packed, grid, bits, dy, dx);
}

}  // namespace

void channel_mean_std(int64_t n, int64_t c, int64_t s, const float* y, float* mean, float* std) {
  if (c <= 0) return;
  if (n * s == 0) {  // empty channels: mean = std = 0, as on the CPU
    check(cudaMemsetAsync(mean, 0, sizeof(float) * c, compute_stream()), "cudaMemsetAsync");
    check(cudaMemsetAsync(std, 0, sizeof(float) * c, compute_stream()), "cudaMemsetAsync");
    return;
  }
  // One block per channel (up to the grid limit; a block then takes several channels in turn).
  const unsigned blocks = static_cast<unsigned>(c < 65535 * 8 ? c : 65535 * 8);
  channel_mean_std_kernel<<<blocks, quant::kStatThreads, 0, compute_stream()>>>(n, c, s, y, mean, std);
  check_launch("channel_mean_std launch");
}

void batchnorm_output_mean_std(int64_t c, const float* gamma, const float* beta, const float* save_invstd, float eps,
                               float* mean, float* std) {
  if (c <= 0) return;
  batchnorm_output_mean_std_kernel<<<blocks_for(c, kThreadsPerBlock), kThreadsPerBlock, 0, compute_stream()>>>(
      c, gamma, beta, save_invstd, eps, mean, std);
  check_launch("batchnorm_output_mean_std launch");
}

void relu_grid(int64_t c, const float* mean, const float* std, int bits, float* grid) {
  check_bits(bits, "relu_grid_cuda");
  if (c <= 0) return;
  relu_grid_kernel<<<blocks_for(c, kThreadsPerBlock), kThreadsPerBlock, 0, compute_stream()>>>(c, mean, std, bits,
                                                                                               grid);
  check_launch("relu_grid launch");
}

void quantize(int64_t n, int64_t c, int64_t s, const float* y, const float* grid, int bits, uint8_t* packed) {
  check_bits(bits, "quantize_cuda");
  if (n * c * s <= 0) return;
  quantize_kernel<<<group_blocks(n, c, s), kThreadsPerBlock, 0, compute_stream()>>>(n, c, s, y, grid, bits, packed);
  check_launch("quantize launch");
}

void dequantize_relu(int64_t n, int64_t c, int64_t s, const uint8_t* packed, const float* grid, int bits, float* h) {
  check_bits(bits, "dequantize_relu_cuda");
  if (n * c * s <= 0) return;
  dequantize_relu_kernel<<<group_blocks(n, c, s), kThreadsPerBlock, 0, compute_stream()>>>(n, c, s, packed, grid, bits,
                                                                                           h);
  check_launch("dequantize_relu launch");
}

void dequantize_normalized(int64_t n, int64_t c, int64_t s, const uint8_t* packed, const float* grid, int bits,
                           const float* gamma, const float* beta, float* xhat) {
  check_bits(bits, "dequantize_normalized_cuda");
  if (n * c * s <= 0) return;
  dequantize_normalized_kernel<<<group_blocks(n, c, s), kThreadsPerBlock, 0, compute_stream()>>>(
      n, c, s, packed, grid, bits, gamma, beta, xhat);
  check_launch("dequantize_normalized launch");
}

void relu_backward_from_codes(int64_t n, int64_t c, int64_t s, const uint8_t* packed, const float* grid, int bits,
                              const float* dy, float* dx) {
  check_bits(bits, "relu_backward_from_codes_cuda");
  if (n * c * s <= 0) return;
  relu_backward_from_codes_kernel<<<group_blocks(n, c, s), kThreadsPerBlock, 0, compute_stream()>>>(n, c, s, packed,
                                                                                                    grid, bits, dy, dx);
  check_launch("relu_backward_from_codes launch");
}

}  // namespace frugal::cuda
