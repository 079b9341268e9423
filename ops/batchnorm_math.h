// The arithmetic of batch normalisation, x [N, C, S], split into what a kernel does per element and what
// it does once per channel from the channel's sums, for the CUDA kernels (ops/cuda/batchnorm_cuda.cu);
// tests/ops/batchnorm_math_test.cpp holds it against the CPU kernels (ops/cpu/batchnorm_cpu.cpp,
// ops/cpu/channel_sums.cpp), which keep their own loops. Sums are in double, as on the CPU; only the
// order in which a channel's terms are added differs between devices (both orders fixed by the shape).
#pragma once
#include <math.h>

#include <cstdint>

#include "core/host_device.h"

namespace frugal {
namespace bn_math {

// ---- Training statistics ----
// The forward sums x - shift and (x - shift)^2 over a channel, shift = the channel's first value
// x[ch * S] (so the variance does not cancel when |mean| >> std).
FRUGAL_HD inline double shifted(float x, double shift) { return static_cast<double>(x) - shift; }

struct Moments {
  double mean;
  double sum_sq_dev;  // sum of (x - mean)^2
};

// From the sums of d = x - shift and d^2 over the m values of a channel.
FRUGAL_HD inline Moments moments(double sum, double sum_sq, double shift, int64_t m) {
  const double count = static_cast<double>(m), mean_shifted = sum / count;
  const double sum_sq_dev = sum_sq - mean_shifted * mean_shifted * count;
  return {shift + mean_shifted, sum_sq_dev < 0.0 ? 0.0 : sum_sq_dev};  // rounding can dip below 0; NaN stays
}

// save_mean, save_invstd = 1/sqrt(biased var + eps) and PyTorch's running-stat update (running_var
// takes the unbiased variance); running_mean / running_var may be null.
FRUGAL_HD inline void train_statistics(const Moments& mo, int64_t m, float eps, float momentum, float* running_mean,
                                       float* running_var, float* save_mean, float* save_invstd) {
  const double invstd = 1.0 / sqrt(mo.sum_sq_dev / static_cast<double>(m) + static_cast<double>(eps));
  *save_mean = static_cast<float>(mo.mean);
  *save_invstd = static_cast<float>(invstd);
  if (running_mean) *running_mean = static_cast<float>((1.0 - momentum) * *running_mean + momentum * mo.mean);
  if (running_var) {
    const double unbiased = mo.sum_sq_dev / static_cast<double>(m - 1);
    *running_var = static_cast<float>((1.0 - momentum) * *running_var + momentum * unbiased);
  }
}

// ---- Normalising ----
// The training forward's multiplier gamma * invstd from the SAVED (float) invstd, so a backward that
// recomputes the output (the folded ReLU's mask) gets the forward's values bit for bit. gamma null: 1.
FRUGAL_HD inline float train_scale(const float* gamma, int64_t ch, float save_invstd) {
  return static_cast<float>(static_cast<double>(save_invstd) * (gamma ? gamma[ch] : 1.0f));
}

// The inference multiplier gamma / sqrt(running_var + eps), in double before rounding.
FRUGAL_HD inline float eval_scale(const float* gamma, int64_t ch, float running_var, float eps) {
  const double invstd = 1.0 / sqrt(static_cast<double>(running_var) + eps);
  return static_cast<float>(invstd * (gamma ? gamma[ch] : 1.0f));
}

FRUGAL_HD inline float offset(const float* beta, int64_t ch) { return beta ? beta[ch] : 0.0f; }

// y = (x - shift) * scale + offset, then a ReLU when `relu` (the ReLU layer's expression).
FRUGAL_HD inline float normalize(float x, float shift, float scale, float offset, bool relu) {
  const float y = (x - shift) * scale + offset;
  return relu && y < 0.0f ? 0.0f : y;
}

// ---- Backward ----
// dy where the forward's (folded) ReLU passed its input, recomputed from x as the forward did.
FRUGAL_HD inline float relu_masked(float x, float mean, float scale, float offset, float dz) {
  return (x - mean) * scale + offset > 0.0f ? dz : 0.0f;
}

// The two terms a channel's backward sums: dy and dy * xhat, xhat = (x - x_shift) * x_scale in float
// (x_shift = mean, x_scale = invstd for the saved input; 0 and 1 when x is xhat already).
FRUGAL_HD inline double grad_term_dy(float dy) { return static_cast<double>(dy); }
FRUGAL_HD inline double grad_term_dy_xhat(float x, float x_shift, float x_scale, float dy) {
  return static_cast<double>(dy) * ((x - x_shift) * x_scale);
}

// dgamma = sum(dy * xhat), dbeta = sum(dy): stored, or added to the old value in double.
FRUGAL_HD inline float param_grad(double sum, const float* old, bool accumulate) {
  return static_cast<float>(accumulate ? *old + sum : sum);
}

// dx = k * (dy - mean(dy) - xhat * mean(dy * xhat)) with k = gamma * invstd.
struct BackwardCoefficients {
  float k, mean_dy, mean_dy_xhat;
};
FRUGAL_HD inline BackwardCoefficients backward_coefficients(double sum_dy, double sum_dy_xhat, int64_t m,
                                                            const float* gamma, int64_t ch, float invstd) {
  const double count = static_cast<double>(m);
  return {(gamma ? gamma[ch] : 1.0f) * invstd, static_cast<float>(sum_dy / count),
          static_cast<float>(sum_dy_xhat / count)};
}

FRUGAL_HD inline float backward_dx(const BackwardCoefficients& b, float x, float x_shift, float x_scale, float dy) {
  const float xhat = (x - x_shift) * x_scale;
  return b.k * (dy - b.mean_dy - xhat * b.mean_dy_xhat);
}

}  // namespace bn_math
}  // namespace frugal
