// CUDA kernel of BatchNorm over all data-parallel replicas (the CPU reference: ops/cpu/batchnorm_cpu.h,
// batchnorm_backward_data_given_means_cpu). Queued on the compute stream.
#pragma once
#include <cstdint>

namespace frugal::cuda {

void batchnorm_backward_data_given_means(int64_t n, int64_t c, int64_t s, const float* x, const float* x_shift,
                                         const float* x_scale, const float* dy, const float* gamma,
                                         const float* invstd, const float* mean_dy, const float* mean_dy_xhat,
                                         float* dx);

}  // namespace frugal::cuda
