#include "ops/cpu/elementwise_cpu.h"

#include <algorithm>
#include <cstring>

namespace frugal {
namespace {

constexpr int64_t kParallelMinElements = 1 << 16;
// Copies go in blocks of this many floats, split statically over threads: one thread's memcpy cannot
// saturate the memory bandwidth of the machine.
constexpr int64_t kCopyBlock = 1 << 14;

void copy_block(const float* x, int64_t begin, int64_t end, float* y) {
  std::memcpy(y + begin, x + begin, static_cast<size_t>(end - begin) * sizeof(float));
}

}  // namespace

void add_cpu(int64_t n, const float* a, const float* b, float* y) {
#pragma omp parallel for simd schedule(static) if (n >= kParallelMinElements)
  for (int64_t i = 0; i < n; ++i) y[i] = a[i] + b[i];
}

void add_inplace_cpu(int64_t n, float* y, const float* x) {
#pragma omp parallel for simd schedule(static) if (n >= kParallelMinElements)
  for (int64_t i = 0; i < n; ++i) y[i] += x[i];
}

void scale_cpu(int64_t n, float alpha, const float* x, float* y) {
#pragma omp parallel for simd schedule(static) if (n >= kParallelMinElements)
  for (int64_t i = 0; i < n; ++i) y[i] = alpha * x[i];
}

void copy_cpu(int64_t n, const float* x, float* y) { copy_to_two_cpu(n, x, y, nullptr); }

void copy_to_two_cpu(int64_t n, const float* x, float* y_a, float* y_b) {
  if (n <= 0) return;
  const int64_t blocks = (n + kCopyBlock - 1) / kCopyBlock;
#pragma omp parallel for schedule(static) if (n >= kParallelMinElements)
  for (int64_t k = 0; k < blocks; ++k) {
    const int64_t begin = k * kCopyBlock, end = std::min(n, begin + kCopyBlock);
    // Block by block, the second copy reads x from cache.
    if (y_a) copy_block(x, begin, end, y_a);
    if (y_b) copy_block(x, begin, end, y_b);
  }
}

void add_relu_cpu(int64_t n, const float* a, const float* b, float* z) {
#pragma omp parallel for simd schedule(static) if (n >= kParallelMinElements)
  for (int64_t i = 0; i < n; ++i) {
    const float y = a[i] + b[i];
    z[i] = y < 0.0f ? 0.0f : y;
  }
}

void relu_grad_to_two_cpu(int64_t n, const float* z, const float* dz, float* y_a, float* y_b) {
  if (n <= 0) return;
  const int64_t blocks = (n + kCopyBlock - 1) / kCopyBlock;
#pragma omp parallel for schedule(static) if (n >= kParallelMinElements)
  for (int64_t k = 0; k < blocks; ++k) {
    const int64_t begin = k * kCopyBlock, end = std::min(n, begin + kCopyBlock);
    float* first = y_a ? y_a : y_b;
    if (!first) continue;
#pragma omp simd
    for (int64_t i = begin; i < end; ++i) {
      const float g = dz[i];  // loaded unconditionally, so the select vectorises without a branch
      first[i] = z[i] > 0.0f ? g : 0.0f;
    }
    if (y_a && y_b) copy_block(y_a, begin, end, y_b);  // block by block, from cache
  }
}

}  // namespace frugal
