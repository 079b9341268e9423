// The arithmetic of softmax cross-entropy over logits [N, K], per row and per element, for the CUDA
// kernels (ops/cuda/loss_cuda.cu); tests/ops/softmax_math_test.cpp holds it against the CPU kernels
// (ops/cpu/loss_cpu.cpp), which keep their own loops.
#pragma once
#include <math.h>

#include <cstdint>

#include "core/host_device.h"

namespace frugal {
namespace softmax_math {

// ---- The row maximum and its index, as std::max_element (first maximum on ties) ----
// max_element keeps z[0] when it is NaN (nothing compares greater than NaN) and otherwise skips every
// NaN, so the result is: index 0 when z[0] is NaN, else the first index of the largest non-NaN value.
// That is a reduction whose merge is commutative and associative, so threads may scan interleaved
// parts of a row and merge in any order with the same result.
struct ArgMax {
  float value;
  int64_t index;  // -1: nothing seen yet (or only NaN)
};

FRUGAL_HD inline ArgMax argmax_empty() { return {0.0f, -1}; }

// Folds z[j] into a; a thread visits its j in increasing order.
FRUGAL_HD inline ArgMax argmax_take(ArgMax a, float v, int64_t j) {
  if (v != v) return a;  // NaN
  if (a.index < 0 || v > a.value) return {v, j};
  return a;
}

FRUGAL_HD inline ArgMax argmax_merge(ArgMax a, ArgMax b) {
  if (a.index < 0) return b;
  if (b.index < 0) return a;
  if (a.value > b.value) return a;
  if (b.value > a.value) return b;
  return a.index < b.index ? a : b;  // equal values (+0 and -0 too): the first
}

// The row's result given its first logit.
FRUGAL_HD inline ArgMax argmax_finish(ArgMax a, float z0) {
  if (z0 != z0 || a.index < 0) return {z0, 0};
  return a;
}

// ---- Forward ----
// Unnormalised probability exp(z - max) in float; the row sums these (and z) in double.
FRUGAL_HD inline float shifted_exp(float z, float z_max) { return expf(z - z_max); }

// 1 / sum(exp), rounded to float once; p = e * inv.
FRUGAL_HD inline float inverse_sum(double exp_sum) { return static_cast<float>(1.0 / exp_sum); }

// The row's loss -sum_j target_j log p_j = logsumexp(z) - (1-eps) z[label] - (eps/K) sum_j z_j, with
// target = (1-eps) onehot + eps/K (PyTorch's label smoothing).
FRUGAL_HD inline double row_loss(float z_max, double exp_sum, float z_label, double z_sum, double eps, int64_t k) {
  const double log_sum_exp = z_max + log(exp_sum);
  return log_sum_exp - (1.0 - eps) * z_label - eps / static_cast<double>(k) * z_sum;
}

// The mean is the sum of kLossChunks fixed chunks of rows, each summed in row order, then the chunks
// in order: chunk c holds rows [n*c/kLossChunks, n*(c+1)/kLossChunks).
constexpr int64_t kLossChunks = 64;
FRUGAL_HD inline int64_t chunk_begin(int64_t n, int64_t chunk) { return n * chunk / kLossChunks; }

// ---- Backward ----
// dlogits = grad_scale * (p - target) / N: every class gets scale * (p - eps/K); the label's class then
// subtracts scale * (1 - eps).
struct GradScalars {
  float scale, off_target, on_target;
};
FRUGAL_HD inline GradScalars grad_scalars(int64_t n, int64_t k, float label_smoothing, float grad_scale) {
  return {grad_scale / static_cast<float>(n), label_smoothing / static_cast<float>(k), 1.0f - label_smoothing};
}
FRUGAL_HD inline float grad(const GradScalars& s, float p, bool is_label) {
  const float d = s.scale * (p - s.off_target);
  return is_label ? d - s.scale * s.on_target : d;
}

}  // namespace softmax_math
}  // namespace frugal
