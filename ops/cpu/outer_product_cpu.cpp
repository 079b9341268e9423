#include "ops/cpu/outer_product_cpu.h"

#include <algorithm>
#include <cstring>

namespace frugal {
namespace {

double squared_norm(const float* row, int64_t n) {
  double s = 0;
  for (int64_t i = 0; i < n; ++i) s += double(row[i]) * row[i];
  return s;
}

}  // namespace

void outer_product_scores_cpu(int64_t batch, int64_t slots, int64_t fx, int64_t fy, const float* x,
                              const float* dy, float* mem_x, float* mem_dy, double* scores) {
#pragma omp parallel for schedule(static) if (batch * (fx + fy) >= (int64_t{1} << 18))
  for (int64_t b = 0; b < batch; ++b) {
    const float* xb = x + b * fx;
    const float* yb = dy + b * fy;
    if (b < slots) {  // a_b = M_X,b + X_b, in place in the memory
      float* a = mem_x + b * fx;
      float* g = mem_dy + b * fy;
      for (int64_t i = 0; i < fx; ++i) a[i] += xb[i];
      for (int64_t i = 0; i < fy; ++i) g[i] += yb[i];
      xb = a;
      yb = g;
    }
    scores[b] = squared_norm(xb, fx) * squared_norm(yb, fy);
  }
}

void outer_product_gather_cpu(int64_t k, const int64_t* rows, int64_t slots, int64_t fx, int64_t fy,
                              const float* x, const float* dy, const float* mem_x, const float* mem_dy, float* xs,
                              float* dys) {
  for (int64_t j = 0; j < k; ++j) {
    const int64_t b = rows[j];
    std::memcpy(xs + j * fx, (b < slots ? mem_x : x) + b * fx, sizeof(float) * fx);
    std::memcpy(dys + j * fy, (b < slots ? mem_dy : dy) + b * fy, sizeof(float) * fy);
  }
}

void outer_product_forget_cpu(int64_t k, const int64_t* rows, int64_t slots, int64_t fx, int64_t fy,
                              float decay_factor, float* mem_x, float* mem_dy) {
  for (int64_t j = 0; j < k; ++j) {
    const int64_t b = rows[j];
    if (b >= slots) continue;
    std::fill(mem_x + b * fx, mem_x + (b + 1) * fx, 0.0f);
    std::fill(mem_dy + b * fy, mem_dy + (b + 1) * fy, 0.0f);
  }
  if (decay_factor == 1.0f) return;
  for (int64_t i = 0; i < slots * fx; ++i) mem_x[i] *= decay_factor;
  for (int64_t i = 0; i < slots * fy; ++i) mem_dy[i] *= decay_factor;
}

}  // namespace frugal
