#include "ops/cuda/cuda_context.h"
#include "ops/cuda/sync_batchnorm_cuda.h"

namespace frugal::cuda {
namespace {

// One thread per element of x [N, C, S] (grid-stride); the same float expression as the CPU kernel.
__global__ void backward_data_given_means(int64_t total, int64_t c, int64_t s, const float* x, const float* x_shift,
                                          const float* x_scale, const float* dy, const float* gamma,
                                          const float* invstd, const float* mean_dy, const float* mean_dy_xhat,
                                          float* dx) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < total;
       i += static_cast<int64_t>(blockDim.x) * gridDim.x) {
    const int64_t ch = (i / s) % c;
    const float shift = x_shift ? x_shift[ch] : 0.0f, scale = x_scale ? x_scale[ch] : 1.0f;
    const float k = (gamma ? gamma[ch] : 1.0f) * invstd[ch];
    const float xhat = __fmul_rn(__fsub_rn(x[i], shift), scale);
    dx[i] = __fmul_rn(k, __fsub_rn(__fsub_rn(dy[i], mean_dy[ch]), __fmul_rn(xhat, mean_dy_xhat[ch])));
  }
}

}  // namespace

void batchnorm_backward_data_given_means(int64_t n, int64_t c, int64_t s, const float* x, const float* x_shift,
                                         const float* x_scale, const float* dy, const float* gamma,
                                         const float* invstd, const float* mean_dy, const float* mean_dy_xhat,
                                         float* dx) {
  const int64_t total = n * c * s;
  if (total == 0) return;
  backward_data_given_means<<<blocks_for(total), 256, 0, compute_stream()>>>(total, c, s, x, x_shift, x_scale, dy,
                                                                             gamma, invstd, mean_dy, mean_dy_xhat, dx);
  check(cudaGetLastError(), "batchnorm_backward_data_given_means launch");
}

}  // namespace frugal::cuda
