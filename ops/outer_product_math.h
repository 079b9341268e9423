// The arithmetic of outer-product sampling with memory (ops/cpu/outer_product_cpu.h) per element and per
// row, for the CUDA kernels (ops/cuda/outer_product_cuda.cu) and the CPU tests that hold it against the
// CPU kernels. A row's score is |a_b|^2 |g_b|^2 with the squared norms summed in double; the CUDA kernel
// sums a row in kScoreThreads fixed lanes (element i goes to lane i % kScoreThreads) combined by a fixed
// pairwise tree, so a score is the same bits on every run, and within double rounding of the CPU's
// sequential sum.
#pragma once
#include <cstdint>

#include "core/host_device.h"
#include "ops/hd_float.h"

namespace frugal::outer_product {

constexpr int kScoreThreads = 256;  // a power of two: the tree halves it

// a_b = M_b + X_b: a memory row takes in the new row before it is scored.
FRUGAL_HD inline float remembered(float memory, float x) { return hd::add_rn(memory, x); }

// sum + v^2 in double.
FRUGAL_HD inline double add_square(double sum, float v) {
  const double d = static_cast<double>(v);
  return hd::add_rn(sum, hd::mul_rn(d, d));
}

// One lane's share of a row: elements lane, lane + kScoreThreads, ...
FRUGAL_HD inline double lane_sum_of_squares(const float* row, int64_t n, int lane) {
  double s = 0.0;
  for (int64_t i = lane; i < n; i += kScoreThreads) s = add_square(s, row[i]);
  return s;
}

// The same for a row with a memory row: memory <- memory + row on the lane's elements, then their
// squares summed (each lane reads back only what it wrote).
FRUGAL_HD inline double lane_remember_and_sum(float* memory, const float* row, int64_t n, int lane) {
  double s = 0.0;
  for (int64_t i = lane; i < n; i += kScoreThreads) {
    const float a = remembered(memory[i], row[i]);
    memory[i] = a;
    s = add_square(s, a);
  }
  return s;
}

// The pairwise tree over the lanes, in place: after it, lanes[0] holds the sum. The CUDA kernel runs
// the same levels in shared memory with a barrier between them.
FRUGAL_HD inline void tree_level(double* lanes, int width, int lane) {
  if (lane < width) lanes[lane] = hd::add_rn(lanes[lane], lanes[lane + width]);
}

FRUGAL_HD inline double score(double squared_norm_x, double squared_norm_dy) {
  return hd::mul_rn(squared_norm_x, squared_norm_dy);
}

}  // namespace frugal::outer_product
