#include "ops/cpu/optimizer_cpu.h"

namespace frugal {
namespace {

// Below this many elements the fork/join costs more than the update.
constexpr int64_t kParallelUpdateThreshold = 1 << 15;

}  // namespace

void sgd_update_cpu(int64_t n, const SgdScalars& s, float* p, const float* grad, float* buf) {
  if (buf) {
#pragma omp parallel for schedule(static) if (n >= kParallelUpdateThreshold)
    for (int64_t i = 0; i < n; ++i) sgd_update_element(s, p[i], grad[i], buf + i);
  } else {
#pragma omp parallel for schedule(static) if (n >= kParallelUpdateThreshold)
    for (int64_t i = 0; i < n; ++i) sgd_update_element(s, p[i], grad[i], nullptr);
  }
}

void adamw_update_cpu(int64_t n, const AdamWScalars& s, float* p, const float* grad, float* m, float* v) {
#pragma omp parallel for schedule(static) if (n >= kParallelUpdateThreshold)
  for (int64_t i = 0; i < n; ++i) adamw_update_element(s, p[i], grad[i], m[i], v[i]);
}

}  // namespace frugal
