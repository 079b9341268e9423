// SGD (momentum, Nesterov, weight decay) and AdamW over n contiguous parameters: the per-element update
// of ops/optimizer_math.h, which the CPU loop (ops/cpu/optimizer_cpu.cpp) calls too, so with contraction
// off and IEEE sqrt and division both devices give the same bits.
#include "ops/cuda/dense_kernels_cuda.h"
#include "ops/cuda/launch_cuda.cuh"

namespace frugal::cuda {

void sgd_update(int64_t n, const SgdScalars& s, float* p, const float* grad, float* momentum_buffer) {
  const SgdScalars sc = s;
  for_each_index(n, "sgd_update", [=] __device__(int64_t i) {
    sgd_update_element(sc, p[i], grad[i], momentum_buffer ? momentum_buffer + i : nullptr);
  });
}

void adamw_update(int64_t n, const AdamWScalars& s, float* p, const float* grad, float* exp_avg, float* exp_avg_sq) {
  const AdamWScalars sc = s;
  for_each_index(n, "adamw_update",
                 [=] __device__(int64_t i) { adamw_update_element(sc, p[i], grad[i], exp_avg[i], exp_avg_sq[i]); });
}

}  // namespace frugal::cuda
