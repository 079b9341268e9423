// db[c] (+)= sum of dy[b, c, s] (contract: ops/cpu/bias_grad.h), through the fixed-order channel
// reduction (channel_reduce_cuda.cuh): conv and linear layers' bias gradients, bit-identical run to run.
#include "ops/bias_grad_math.h"
#include "ops/cuda/channel_reduce_cuda.cuh"
#include "ops/cuda/dense_kernels_cuda.h"

namespace frugal::cuda {

void bias_gradient(int64_t batch, int64_t channels, int64_t spatial, const float* dy, float* db, bool accumulate) {
  auto terms = [=] __device__(int64_t, int64_t at) { return make_double2(static_cast<double>(dy[at]), 0.0); };
  auto finish = [=] __device__(int64_t ch, double sum, double) {
    db[ch] = bias_grad_value(sum, db[ch], accumulate);
    return make_float4(0.0f, 0.0f, 0.0f, 0.0f);
  };
  reduce_channels(batch, channels, spatial, terms, finish, static_cast<const NoApply*>(nullptr), "bias_gradient");
}

}  // namespace frugal::cuda
