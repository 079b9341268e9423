#include "ops/cpu/elementwise_cpu.h"

#include <cstring>

namespace frugal {
namespace {
constexpr int64_t kParallelMinElements = 1 << 16;
}  // namespace

void add_cpu(int64_t n, const float* a, const float* b, float* y) {
#pragma omp parallel for schedule(static) if (n >= kParallelMinElements)
  for (int64_t i = 0; i < n; ++i) y[i] = a[i] + b[i];
}

void add_inplace_cpu(int64_t n, float* y, const float* x) {
#pragma omp parallel for schedule(static) if (n >= kParallelMinElements)
  for (int64_t i = 0; i < n; ++i) y[i] += x[i];
}

void scale_cpu(int64_t n, float alpha, const float* x, float* y) {
#pragma omp parallel for schedule(static) if (n >= kParallelMinElements)
  for (int64_t i = 0; i < n; ++i) y[i] = alpha * x[i];
}

void copy_cpu(int64_t n, const float* x, float* y) {
  if (n > 0) std::memcpy(y, x, static_cast<size_t>(n) * sizeof(float));
}

}  // namespace frugal
