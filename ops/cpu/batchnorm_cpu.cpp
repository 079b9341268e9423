#include "ops/cpu/batchnorm_cpu.h"

#include <cmath>
#include <string>
#include <vector>

#include "core/error.h"
#include "ops/cpu/channel_sums.h"

namespace frugal {
namespace {

// Below this many elements the OpenMP fork costs more than it saves.
constexpr int64_t kParallelMinElements = 1 << 15;

// Calls run(offset) with the offset of each of channel ch's N runs of S values of an [N, C, S] tensor.
template <class Run>
inline void for_each_run(int64_t n, int64_t c, int64_t s, int64_t ch, const Run& run) {
  for (int64_t i = 0; i < n; ++i) run((i * c + ch) * s);
}

// Writes out = (in - shift) * scale + offset over channel ch of an [N, C, S] tensor, followed by a ReLU
// when Relu (the same expression as the ReLU layer's, so folding it in changes no bit). A channel's runs
// are visited right after its statistics pass, while they are still in cache. out may alias in.
template <bool Relu>
inline void affine_channel(int64_t n, int64_t c, int64_t s, int64_t ch, const float* in, float shift,
                           float scale, float offset, float* out) {
  for_each_run(n, c, s, ch, [&](int64_t run) {
    const float* src = in + run;
    float* dst = out + run;
#pragma omp simd
    for (int64_t j = 0; j < s; ++j) {
      const float y = (src[j] - shift) * scale + offset;
      dst[j] = Relu && y < 0.0f ? 0.0f : y;
    }
  });
}

void affine(int64_t n, int64_t c, int64_t s, int64_t ch, const float* in, float shift, float scale,
            float offset, float* out, bool relu) {
  if (relu)
    affine_channel<true>(n, c, s, ch, in, shift, scale, offset, out);
  else
    affine_channel<false>(n, c, s, ch, in, shift, scale, offset, out);
}

// The forward's multiplier gamma * invstd, from the SAVED (float) invstd so a backward that recomputes
// the output (to find where a folded ReLU was active) gets the forward's values bit for bit.
inline float output_scale(const float* gamma, int64_t ch, float invstd) {
  return static_cast<float>(static_cast<double>(invstd) * (gamma ? gamma[ch] : 1.0f));
}

// Shared backward for one channel; x_shift/x_scale turn x into xhat (mean/invstd for the saved input,
// 0/1 when x is xhat). dx = gamma*invstd * (dy - mean(dy) - xhat * mean(dy*xhat)); dbeta = sum(dy);
// dgamma = sum(dy*xhat). Two passes: the sums, then dx (which may alias dy).
// dx = k * (dy - mean(dy) - xhat * mean(dy * xhat)) over channel ch, xhat = (x - x_shift) * x_scale: the
// input gradient given the channel's means (local, or summed over the replicas of a sync BatchNorm).
inline void data_gradient_channel(int64_t n, int64_t c, int64_t s, int64_t ch, const float* x, float x_shift,
                                  float x_scale, const float* dy, float k, float mean_dy, float mean_dy_xhat,
                                  float* dx) {
  for_each_run(n, c, s, ch, [&](int64_t run) {
    const float* xr = x + run;
    const float* dyr = dy + run;
    float* dxr = dx + run;
#pragma omp simd
    for (int64_t j = 0; j < s; ++j) {
      const float xhat = (xr[j] - x_shift) * x_scale;
      dxr[j] = k * (dyr[j] - mean_dy - xhat * mean_dy_xhat);
    }
  });
}

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
  data_gradient_channel(n, c, s, ch, x, x_shift, x_scale, dy, k, mean_dy, mean_dy_xhat, dx);
}

// dy = dz where the forward's output (x - mean) * scale + offset was positive, over channel ch: the
// ReLU's own backward, on outputs recomputed exactly as the forward computed them.
void relu_mask_channel(int64_t n, int64_t c, int64_t s, int64_t ch, const float* x, float mean, float scale,
                       float offset, const float* dz, float* dy) {
  for_each_run(n, c, s, ch, [&](int64_t run) {
    const float* xr = x + run;
    const float* dzr = dz + run;
    float* dyr = dy + run;
#pragma omp simd
    for (int64_t j = 0; j < s; ++j) {
      const float g = dzr[j];  // loaded unconditionally, so the select vectorises without a branch
      dyr[j] = (xr[j] - mean) * scale + offset > 0.0f ? g : 0.0f;
    }
  });
}

}  // namespace

void batchnorm_forward_train_cpu(int64_t n, int64_t c, int64_t s, const float* x, const float* gamma,
                                 const float* beta, float eps, float momentum, float* running_mean,
                                 float* running_var, float* y, float* save_mean, float* save_invstd,
                                 bool relu) {
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
    affine(n, c, s, ch, x, save_mean[ch], output_scale(gamma, ch, save_invstd[ch]), beta ? beta[ch] : 0.0f,
           y, relu);
  }
}

void batchnorm_forward_eval_cpu(int64_t n, int64_t c, int64_t s, const float* x, const float* gamma,
                                const float* beta, float eps, const float* running_mean,
                                const float* running_var, float* y, bool relu) {
  // No statistics pass, so plain streaming in memory order: one task per (sample, channel) plane.
#pragma omp parallel for schedule(static) if (n * c * s >= kParallelMinElements)
  for (int64_t plane = 0; plane < n * c; ++plane) {
    const int64_t ch = plane % c;
    const double invstd = 1.0 / std::sqrt(static_cast<double>(running_var[ch]) + eps);
    const float scale = static_cast<float>(invstd * (gamma ? gamma[ch] : 1.0f));
    affine(1, 1, s, 0, x + plane * s, running_mean[ch], scale, beta ? beta[ch] : 0.0f, y + plane * s, relu);
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

void batchnorm_relu_backward_cpu(int64_t n, int64_t c, int64_t s, const float* x, const float* dz,
                                 const float* gamma, const float* beta, const float* save_mean,
                                 const float* save_invstd, float* dx, float* dgamma, float* dbeta) {
  // The masked dy goes to dx first (a channel stays in cache for the two passes that follow), then the
  // backward overwrites it in place. Without dx it needs a buffer of its own.
  std::vector<float> scratch;
  if (!dx) scratch.resize(static_cast<size_t>(n * c * s));
  float* dy = dx ? dx : scratch.data();
#pragma omp parallel for schedule(static) if (n * c * s >= kParallelMinElements)
  for (int64_t ch = 0; ch < c; ++ch) {
    const float mean = save_mean[ch], invstd = save_invstd[ch];
    relu_mask_channel(n, c, s, ch, x, mean, output_scale(gamma, ch, invstd), beta ? beta[ch] : 0.0f, dz, dy);
    backward_channel(n, c, s, ch, x, mean, invstd, dy, gamma, invstd, dx, dgamma, dbeta, false);
  }
}

void batchnorm_backward_data_given_means_cpu(int64_t n, int64_t c, int64_t s, const float* x, const float* x_shift,
                                             const float* x_scale, const float* dy, const float* gamma,
                                             const float* invstd, const float* mean_dy, const float* mean_dy_xhat,
                                             float* dx) {
#pragma omp parallel for schedule(static) if (n * c * s >= kParallelMinElements)
  for (int64_t ch = 0; ch < c; ++ch) {
    const float shift = x_shift ? x_shift[ch] : 0.0f, scale = x_scale ? x_scale[ch] : 1.0f;
    const float k = (gamma ? gamma[ch] : 1.0f) * invstd[ch];
    data_gradient_channel(n, c, s, ch, x, shift, scale, dy, k, mean_dy[ch], mean_dy_xhat[ch], dx);
  }
}

}  // namespace frugal
