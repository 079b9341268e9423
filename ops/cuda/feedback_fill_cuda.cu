// Fixed random feedback matrices (contracts: ops/cpu/feedback_fill_cpu.h): element pairs from
// ops/feedback_fill.h, a pure function of (key, pair), so CPU and GPU fill the same matrix.
#include "ops/cuda/dense_kernels_cuda.h"
#include "ops/cuda/launch_cuda.cuh"
#include "ops/feedback_fill.h"

namespace frugal::cuda {

void feedback_uniform(uint64_t key, float* out, int64_t n, float bound) {
  for_each_index((n + 1) / 2, "feedback_uniform", [=] __device__(int64_t pair) {
    float v0, v1;
    feedback_fill::uniform_pair(key, pair, bound, v0, v1);
    out[2 * pair] = v0;
    if (2 * pair + 1 < n) out[2 * pair + 1] = v1;
  });
}

void feedback_normal(uint64_t key, float* out, int64_t n, float stddev) {
  for_each_index((n + 1) / 2, "feedback_normal", [=] __device__(int64_t pair) {
    float v0, v1;
    feedback_fill::normal_pair(key, pair, stddev, v0, v1);
    out[2 * pair] = v0;
    if (2 * pair + 1 < n) out[2 * pair + 1] = v1;
  });
}

}  // namespace frugal::cuda
