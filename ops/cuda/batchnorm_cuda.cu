// Batch normalisation over x [N, C, S] (contracts: ops/cpu/batchnorm_cpu.h). The per-channel sums run
// in double through the fixed-order channel reduction (channel_reduce_cuda.cuh); the per-channel and
// per-element arithmetic is ops/batchnorm_math.h, shared with the CPU tests. Outputs are written by the
// elementwise pass after every sum is taken, so y may alias x and dx may alias dy (or xhat, or dz).
#include <string>

#include "core/error.h"
#include "ops/batchnorm_math.h"
#include "ops/cuda/channel_reduce_cuda.cuh"
#include "ops/cuda/dense_kernels_cuda.h"

namespace frugal::cuda {
namespace bm = bn_math;

void batchnorm_forward_train(int64_t n, int64_t c, int64_t s, const float* x, const float* gamma, const float* beta,
                             float eps, float momentum, float* running_mean, float* running_var, float* y,
                             float* save_mean, float* save_invstd, bool relu) {
  const int64_t m = n * s;
  FRUGAL_CHECK(m > 1, ShapeError,
               "batchnorm_forward_train (cuda): training needs more than 1 value per channel, got input [N=" +
                   std::to_string(n) + ", C=" + std::to_string(c) + ", S=" + std::to_string(s) + "]");
  // Sums of x - shift and its square, shift = the channel's first value x[ch * S].
  auto terms = [=] __device__(int64_t ch, int64_t at) {
    const double d = bm::shifted(x[at], static_cast<double>(x[ch * s]));
    return make_double2(d, d * d);
  };
  auto finish = [=] __device__(int64_t ch, double sum, double sum_sq) {
    const bm::Moments mo = bm::moments(sum, sum_sq, static_cast<double>(x[ch * s]), m);
    float mean, invstd;
    bm::train_statistics(mo, m, eps, momentum, running_mean ? running_mean + ch : nullptr,
                         running_var ? running_var + ch : nullptr, &mean, &invstd);
    save_mean[ch] = mean;
    save_invstd[ch] = invstd;
    return make_float4(mean, bm::train_scale(gamma, ch, invstd), bm::offset(beta, ch), 0.0f);
  };
  auto apply = [=] __device__(int64_t, int64_t at, float4 k) { y[at] = bm::normalize(x[at], k.x, k.y, k.z, relu); };
  reduce_channels(n, c, s, terms, finish, &apply, "batchnorm_forward_train");
}

void batchnorm_forward_eval(int64_t n, int64_t c, int64_t s, const float* x, const float* gamma, const float* beta,
                            float eps, const float* running_mean, const float* running_var, float* y, bool relu) {
  auto finish = [=] __device__(int64_t ch, double, double) {
    return make_float4(running_mean[ch], bm::eval_scale(gamma, ch, running_var[ch], eps), bm::offset(beta, ch), 0.0f);
  };
  auto apply = [=] __device__(int64_t, int64_t at, float4 k) { y[at] = bm::normalize(x[at], k.x, k.y, k.z, relu); };
  map_channels(n, c, s, finish, apply, "batchnorm_forward_eval");
}

namespace {

// The shared backward: x_shift / x_scale (per channel, null: 0 and 1) turn x into xhat; dy_of(ch, at)
// gives the incoming gradient (masked by a folded ReLU or not). dgamma = sum(dy * xhat),
// dbeta = sum(dy), dx = gamma * invstd * (dy - mean(dy) - xhat * mean(dy * xhat)).
template <class DyOf>
void backward(int64_t n, int64_t c, int64_t s, const float* x, const float* x_shift, const float* x_scale, DyOf dy_of,
              const float* gamma, const float* save_invstd, float* dx, float* dgamma, float* dbeta, bool accumulate,
              const char* what) {
  const int64_t m = n * s;
  auto terms = [=] __device__(int64_t ch, int64_t at) {
    const float dy = dy_of(ch, at);
    const float shift = x_shift ? x_shift[ch] : 0.0f, scale = x_scale ? x_scale[ch] : 1.0f;
    return make_double2(bm::grad_term_dy(dy), bm::grad_term_dy_xhat(x[at], shift, scale, dy));
  };
  auto finish = [=] __device__(int64_t ch, double sum_dy, double sum_dy_xhat) {
    if (dbeta) dbeta[ch] = bm::param_grad(sum_dy, dbeta + ch, accumulate);
    if (dgamma) dgamma[ch] = bm::param_grad(sum_dy_xhat, dgamma + ch, accumulate);
    const bm::BackwardCoefficients b = bm::backward_coefficients(sum_dy, sum_dy_xhat, m, gamma, ch, save_invstd[ch]);
    return make_float4(b.k, b.mean_dy, b.mean_dy_xhat, 0.0f);
  };
  auto apply = [=] __device__(int64_t ch, int64_t at, float4 k) {
    const float shift = x_shift ? x_shift[ch] : 0.0f, scale = x_scale ? x_scale[ch] : 1.0f;
    dx[at] = bm::backward_dx(bm::BackwardCoefficients{k.x, k.y, k.z}, x[at], shift, scale, dy_of(ch, at));
  };
  reduce_channels(n, c, s, terms, finish, dx ? &apply : nullptr, what);
}

}  // namespace

void batchnorm_backward(int64_t n, int64_t c, int64_t s, const float* x, const float* dy, const float* gamma,
                        const float* save_mean, const float* save_invstd, float* dx, float* dgamma, float* dbeta,
                        bool accumulate_param_grads) {
  auto dy_of = [=] __device__(int64_t, int64_t at) { return dy[at]; };
  backward(n, c, s, x, save_mean, save_invstd, dy_of, gamma, save_invstd, dx, dgamma, dbeta, accumulate_param_grads,
           "batchnorm_backward");
}

void batchnorm_backward_from_xhat(int64_t n, int64_t c, int64_t s, const float* xhat, const float* dy,
                                  const float* gamma, const float* save_invstd, float* dx, float* dgamma, float* dbeta,
                                  bool accumulate_param_grads) {
  auto dy_of = [=] __device__(int64_t, int64_t at) { return dy[at]; };
  backward(n, c, s, xhat, nullptr, nullptr, dy_of, gamma, save_invstd, dx, dgamma, dbeta, accumulate_param_grads,
           "batchnorm_backward_from_xhat");
}

void batchnorm_relu_backward(int64_t n, int64_t c, int64_t s, const float* x, const float* dz, const float* gamma,
                             const float* beta, const float* save_mean, const float* save_invstd, float* dx,
                             float* dgamma, float* dbeta) {
  // The ReLU's mask is recomputed from x exactly as the forward computed the output, wherever dy is read,
  // so neither the BN output nor its gradient is ever stored.
  auto dy_of = [=] __device__(int64_t ch, int64_t at) {
    return bm::relu_masked(x[at], save_mean[ch], bm::train_scale(gamma, ch, save_invstd[ch]), bm::offset(beta, ch),
                           dz[at]);
  };
  backward(n, c, s, x, save_mean, save_invstd, dy_of, gamma, save_invstd, dx, dgamma, dbeta, false,
           "batchnorm_relu_backward");
}

}  // namespace frugal::cuda
