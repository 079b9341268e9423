#include "ops/cpu/batchnorm_cpu.h"

#include <cmath>
#include <string>

#include "core/error.h"

namespace frugal {
namespace {

// Below this many elements the OpenMP fork costs more than it saves.
constexpr int64_t kParallelMinElements = 1 << 15;

// Calls fn(plane_x_offset) for each of the N contiguous runs of S elements that make up channel ch of
// an [N, C, S] tensor, in a fixed order.
template <class Fn>
inline void for_each_run(int64_t n, int64_t c, int64_t s, int64_t ch, Fn&& fn) {
  for (int64_t i = 0; i < n; ++i) fn((i * c + ch) * s);
}

// Shared backward for one channel. xhat_at(offset) returns the normalised input at an element offset.
// dx = gamma*invstd * (dy - mean(dy) - xhat * mean(dy*xhat)); dbeta = sum(dy); dgamma = sum(dy*xhat).
template <class XhatAt>
void backward_channel(int64_t n, int64_t c, int64_t s, int64_t ch, XhatAt xhat_at, const float* dy,
                      const float* gamma, float invstd, float* dx, float* dgamma, float* dbeta,
                      bool accumulate) {
  double sum_dy = 0.0, sum_dy_xhat = 0.0;
  for_each_run(n, c, s, ch, [&](int64_t off) {
    for (int64_t j = 0; j < s; ++j) {
      sum_dy += dy[off + j];
      sum_dy_xhat += static_cast<double>(dy[off + j]) * xhat_at(off + j);
    }
  });
  const double m = static_cast<double>(n * s);
  const float g = gamma ? gamma[ch] : 1.0f;
  const float k = g * invstd;
  const float mean_dy = static_cast<float>(sum_dy / m);
  const float mean_dy_xhat = static_cast<float>(sum_dy_xhat / m);
  for_each_run(n, c, s, ch, [&](int64_t off) {
    for (int64_t j = 0; j < s; ++j)
      dx[off + j] = k * (dy[off + j] - mean_dy - xhat_at(off + j) * mean_dy_xhat);
  });
  if (dbeta) dbeta[ch] = static_cast<float>(accumulate ? dbeta[ch] + sum_dy : sum_dy);
  if (dgamma) dgamma[ch] = static_cast<float>(accumulate ? dgamma[ch] + sum_dy_xhat : sum_dy_xhat);
}

}  // namespace

void batchnorm_forward_train_cpu(int64_t n, int64_t c, int64_t s, const float* x, const float* gamma,
                                 const float* beta, float eps, float momentum, float* running_mean,
                                 float* running_var, float* y, float* save_mean, float* save_invstd) {
  const int64_t m = n * s;  // values per channel
  FRUGAL_CHECK(m > 1, ShapeError,
               "batchnorm_forward_train_cpu: training needs more than 1 value per channel, got input [N=" +
                   std::to_string(n) + ", C=" + std::to_string(c) + ", S=" + std::to_string(s) + "]");
#pragma omp parallel for schedule(static) if (n * c * s >= kParallelMinElements)
  for (int64_t ch = 0; ch < c; ++ch) {
    double sum = 0.0;
    for_each_run(n, c, s, ch, [&](int64_t off) {
      for (int64_t j = 0; j < s; ++j) sum += x[off + j];
    });
    const double mean = sum / static_cast<double>(m);
    double sq = 0.0;  // two-pass variance: no cancellation when |mean| >> std
    for_each_run(n, c, s, ch, [&](int64_t off) {
      for (int64_t j = 0; j < s; ++j) {
        const double d = x[off + j] - mean;
        sq += d * d;
      }
    });
    const double var = sq / static_cast<double>(m);
    const double invstd = 1.0 / std::sqrt(var + static_cast<double>(eps));
    save_mean[ch] = static_cast<float>(mean);
    save_invstd[ch] = static_cast<float>(invstd);
    if (running_mean)
      running_mean[ch] = static_cast<float>((1.0 - momentum) * running_mean[ch] + momentum * mean);
    if (running_var) {
      const double unbiased = sq / static_cast<double>(m - 1);
      running_var[ch] = static_cast<float>((1.0 - momentum) * running_var[ch] + momentum * unbiased);
    }
    const float mean_f = static_cast<float>(mean);
    const float scale = static_cast<float>(invstd * (gamma ? gamma[ch] : 1.0f));
    const float shift = beta ? beta[ch] : 0.0f;
    for_each_run(n, c, s, ch, [&](int64_t off) {
      for (int64_t j = 0; j < s; ++j) y[off + j] = (x[off + j] - mean_f) * scale + shift;
    });
  }
}

void batchnorm_forward_eval_cpu(int64_t n, int64_t c, int64_t s, const float* x, const float* gamma,
                                const float* beta, float eps, const float* running_mean,
                                const float* running_var, float* y) {
  // One task per (sample, channel) plane; the per-channel constants are cheap to recompute.
#pragma omp parallel for schedule(static) if (n * c * s >= kParallelMinElements)
  for (int64_t plane = 0; plane < n * c; ++plane) {
    const int64_t ch = plane % c;
    const double invstd = 1.0 / std::sqrt(static_cast<double>(running_var[ch]) + eps);
    const float mean = running_mean[ch];
    const float scale = static_cast<float>(invstd * (gamma ? gamma[ch] : 1.0f));
    const float shift = beta ? beta[ch] : 0.0f;
    const float* xp = x + plane * s;
    float* yp = y + plane * s;
    for (int64_t j = 0; j < s; ++j) yp[j] = (xp[j] - mean) * scale + shift;
  }
}

void batchnorm_backward_cpu(int64_t n, int64_t c, int64_t s, const float* x, const float* dy,
                            const float* gamma, const float* save_mean, const float* save_invstd,
                            float* dx, float* dgamma, float* dbeta, bool accumulate_param_grads) {
#pragma omp parallel for schedule(static) if (n * c * s >= kParallelMinElements)
  for (int64_t ch = 0; ch < c; ++ch) {
    const float mean = save_mean[ch], invstd = save_invstd[ch];
    auto xhat_at = [&](int64_t off) { return (x[off] - mean) * invstd; };
    backward_channel(n, c, s, ch, xhat_at, dy, gamma, invstd, dx, dgamma, dbeta, accumulate_param_grads);
  }
}

void batchnorm_backward_from_xhat_cpu(int64_t n, int64_t c, int64_t s, const float* xhat,
                                      const float* dy, const float* gamma, const float* save_invstd,
                                      float* dx, float* dgamma, float* dbeta,
                                      bool accumulate_param_grads) {
#pragma omp parallel for schedule(static) if (n * c * s >= kParallelMinElements)
  for (int64_t ch = 0; ch < c; ++ch) {
    auto xhat_at = [&](int64_t off) { return xhat[off]; };
    backward_channel(n, c, s, ch, xhat_at, dy, gamma, save_invstd[ch], dx, dgamma, dbeta,
                     accumulate_param_grads);
  }
}

}  // namespace frugal
