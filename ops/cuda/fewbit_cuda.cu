// CUDA kernels of the fewbit mode (contract: ops/kernels.h, reference: ops/cpu/fewbit_cpu.h). One thread
// per group of 8 codes, which fill `bits` whole bytes of the packed stream, so threads never share a
// byte and the stream is byte-identical to the CPU's; the arithmetic is ops/fewbit_math.h.
#include <string>

#include "core/error.h"
#include "ops/cuda/cuda_context.h"
#include "ops/cuda/grid_stride.h"
#include "ops/cuda/mode_kernels_cuda.h"
#include "ops/fewbit_math.h"

namespace frugal::cuda {
namespace {

void check_bits(int bits) {
  FRUGAL_CHECK(bits >= 1 && bits <= kMaxFewbitBits, InternalError,
               "fewbit kernels: bits must be in 1..4, got " + std::to_string(bits));
}

template <int B>
__global__ void encode_kernel(int64_t n, const float* x, FewbitLevels table, uint8_t* packed) {
  const int64_t groups = bitpack::group_count(n);
  for (int64_t g = grid_first(); g < groups; g += grid_stride()) fewbit::encode_group<B>(n, g, x, table, packed);
}

template <int B>
__global__ void backward_kernel(int64_t n, const uint8_t* packed, FewbitLevels table, const float* dy, float* dx) {
  __shared__ float levels[1 << B];
  if (threadIdx.x < (1 << B)) levels[threadIdx.x] = table.levels[threadIdx.x];
  __syncthreads();
  const int64_t groups = bitpack::group_count(n);
  for (int64_t g = grid_first(); g < groups; g += grid_stride())
    fewbit::backward_group<B>(n, g, packed, levels, dy, dx);
}

template <int B>
void encode_fixed(int64_t n, const float* x, const FewbitLevels& table, uint8_t* packed) {
  const int64_t groups = bitpack::group_count(n);
  encode_kernel<B>
      <<<blocks_for(groups, kThreadsPerBlock), kThreadsPerBlock, 0, compute_stream()>>>(n, x, table, packed);
  check(cudaGetLastError(), "fewbit_encode launch");
}

template <int B>
void backward_fixed(int64_t n, const uint8_t* packed, const FewbitLevels& table, const float* dy, float* dx) {
  const int64_t groups = bitpack::group_count(n);
  backward_kernel<B>
      <<<blocks_for(groups, kThreadsPerBlock), kThreadsPerBlock, 0, compute_stream()>>>(n, packed, table, dy, dx);
  check(cudaGetLastError(), "fewbit_backward launch");
}

}  // namespace

void fewbit_encode(int64_t n, const float* x, const FewbitLevels& table, uint8_t* packed) {
  check_bits(table.bits);
  if (n <= 0) return;
  switch (table.bits) {
    case 1: return encode_fixed<1>(n, x, table, packed);
    case 2: return encode_fixed<2>(n, x, table, packed);
    case 3: return encode_fixed<3>(n, x, table, packed);
    default: return encode_fixed<4>(n, x, table, packed);
  }
}

void fewbit_backward(int64_t n, const uint8_t* packed, const FewbitLevels& table, const float* dy, float* dx) {
  check_bits(table.bits);
  if (n <= 0) return;
  switch (table.bits) {
    case 1: return backward_fixed<1>(n, packed, table, dy, dx);
    case 2: return backward_fixed<2>(n, packed, table, dy, dx);
    case 3: return backward_fixed<3>(n, packed, table, dy, dx);
    default: return backward_fixed<4>(n, packed, table, dy, dx);
  }
}

}  // namespace frugal::cuda
