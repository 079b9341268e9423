#include "ops/cpu/batchnorm_cpu.h"

#include <cmath>
#include <string>

#include "core/error.h"
#include "ops/cpu/channel_sums.h"

namespace frugal {
namespace {

// Below this many elements the OpenMP fork costs more than it saves.
constexpr int64_t kParallelMinElements = 1 << 15;

// Writes out = (in - shift) * scale + offset over channel ch of an [N, C, S] tensor. A channel's runs
// are visited right after its statistics pass, while they are still in cache. out may alias in.
inline void affine_channel(int64_t n, int64_t c, int64_t s, int64_t ch, const float* in, float shift,
                           float scale, float offset, float* out) {
  for (int64_t i = 0; i < n; ++i) {
    const float* src = in + (i * c + ch) * s;
    float* dst = out + (i * c + ch) * s;
#pragma omp simd
    for (int64_t j = 0; j < s; ++j) dst[j] = (src[j] - shift) * scale + offset;
  }
}

// Shared backward for one channel; x_shift/x_scale turn x into xhat (mean/invstd for the saved input,
// 0/1 when x is xhat). dx = gamma*invstd * (dy - mean(dy) - xhat * mean(dy*xhat)); dbeta = sum(dy);
// dgamma = sum(dy*xhat). Two passes: the sums, then dx.
void backward_channel(int64_t n, int64_t c, int64_t s, int64_t ch, const float* x, float x_shift,
                      float x_scale, const float* dy, const float* gamma, float invstd, float* dx,
                      float* dgamma, float* dbeta, bool accumulate) {
  const ChannelGradSums sums = channel_grad_sums(n, c, s, ch, x, x_shift, x_scale, dy);
  if (dbeta) dbeta[ch] = static_cast<float>(accumulate ? dbeta[ch] + sums.sum_dy : sums.sum_dy);
  if (dgamma)
    dgamma[ch] = static_cast<float>(accumulate ? dgamma[ch] + sums.sum_dy_xhat : sums.sum_dy_xhat);
  if (!dx) return;
  const double m = static_cast<double>(n * s);
  const float k = (gamma ? gamma[ch] : 1.0f) * invstd;
  const float mean_dy = static_cast<float>(sums.sum_dy / m);
  const float mean_dy_xhat = static_cast<float>(sums.sum_dy_xhat / m);
  for (int64_t i = 0; i < n; ++i) {
    const int64_t run = (i * c + ch) * s;
    const float* xr = x + run;
    const float* dyr = dy + run;
    float* dxr = dx + run;
#pragma omp simd
    for (int64_t j = 0; j < s; ++j) {
      const float xhat = (xr[j] - x_shift) * x_scale;
      dxr[j] = k * (dyr[j] - mean_dy - xhat * mean_dy_xhat);
    }
  }
}

}  // namespace

void batchnorm_forward_train_cpu(int64_t n, int64_t c, int64_t s, const float* x, const float* gamma,
                                 const float* beta, float eps, float momentum, float* running_mean,
                                 float* running_var, float* y, float* save_mean, float* save_invstd) {
  const int64_t m = n * s;  // values per channel
  FRUGAL_CHECK(m > 1, ShapeError,
               "batchnorm_forward_train_cpu: training needs more than 1 value per channel, got input [N=" +
                   std::to_string(n) + ", C=" + std::to_string(c) + ", S=" + std::to_string(s) + "]");
  // One channel per task: its statistics pass leaves it in cache for the normalising pass.
#pragma omp parallel for schedule(static) if (n * c * s >= kParallelMinElements)
  for (int64_t ch = 0; ch < c; ++ch) {
    const ChannelMoments mo = channel_moments(n, c, s, ch, x);
    const double invstd = 1.0 / std::sqrt(mo.sum_sq_dev / static_cast<double>(m) + static_cast<double>(eps));
    save_mean[ch] = static_cast<float>(mo.mean);
    save_invstd[ch] = static_cast<float>(invstd);
    if (running_mean)
      running_mean[ch] = static_cast<float>((1.0 - momentum) * running_mean[ch] + momentum * mo.mean);
    if (running_var) {
      const double unbiased = mo.sum_sq_dev / static_cast<double>(m - 1);
      running_var[ch] = static_cast<float>((1.0 - momentum) * running_var[ch] + momentum * unbiased);
    }
    const float scale = static_cast<float>(invstd * (gamma ? gamma[ch] : 1.0f));
    affine_channel(n, c, s, ch, x, static_cast<float>(mo.mean), scale, beta ? beta[ch] : 0.0f, y);
  }
}

void batchnorm_forward_eval_cpu(int64_t n, int64_t c, int64_t s, const float* x, const float* gamma,
                                const float* beta, float eps, const float* running_mean,
                                const float* running_var, float* y) {
  // No statistics pass, so plain streaming in memory order: one task per (sample, channel) plane.
#pragma omp parallel for schedule(static) if (n * c * s >= kParallelMinElements)
  for (int64_t plane = 0; plane < n * c; ++plane) {
    const int64_t ch = plane % c;
    const double invstd = 1.0 / std::sqrt(static_cast<double>(running_var[ch]) + eps);
    const float scale = static_cast<float>(invstd * (gamma ? gamma[ch] : 1.0f));
    affine_channel(1, 1, s, 0, x + plane * s, running_mean[ch], scale, beta ? beta[ch] : 0.0f,
                   y + plane * s);
  }
}

void batchnorm_backward_cpu(int64_t n, int64_t c, int64_t s, const float* x, const float* dy,
                            const float* gamma, const float* save_mean, const float* save_invstd,
                            float* dx, float* dgamma, float* dbeta, bool accumulate_param_grads) {
#pragma omp parallel for schedule(static) if (n * c * s >= kParallelMinElements)
  for (int64_t ch = 0; ch < c; ++ch)
    backward_channel(n, c, s, ch, x, save_mean[ch], save_invstd[ch], dy, gamma, save_invstd[ch], dx, dgamma,
                     dbeta, accumulate_param_grads);
}

void batchnorm_backward_from_xhat_cpu(int64_t n, int64_t c, int64_t s, const float* xhat,
                                      const float* dy, const float* gamma, const float* save_invstd,
                                      float* dx, float* dgamma, float* dbeta,
                                      bool accumulate_param_grads) {
#pragma omp parallel for schedule(static) if (n * c * s >= kParallelMinElements)
  for (int64_t ch = 0; ch < c; ++ch)
    backward_channel(n, c, s, ch, xhat, 0.0f, 1.0f, dy, gamma, save_invstd[ch], dx, dgamma, dbeta,
                     accumulate_param_grads);
}

}  // namespace frugal
