// Batch normalisation kernels (float32). x is [N, C, S] with S = H*W for BatchNorm2d on NCHW and S = 1 for
// BatchNorm1d on [N, C]. Statistics are accumulated in double, one channel per task, so results are
// bit-identical for any thread count. Training forward and backward read a channel twice (its sums,
// then the elementwise pass) back to back, so the second read mostly hits the cache. gamma/beta may be
// null (affine=false: gamma = 1, beta = 0).
// Every output is written elementwise after the statistics are read, so y may alias x and dx may alias
// dy (or xhat).
#pragma once
#include <cstdint>

namespace frugal {

// Training: normalise with the batch statistics (biased variance), then apply a ReLU when `relu` (a
// ReLU layer folded in: y is never written unrectified). save_mean and save_invstd [C] receive the mean
// and 1/sqrt(var + eps). Running stats, when non-null, are updated as PyTorch does:
// running = (1-momentum)*running + momentum*stat, where running_var takes the UNBIASED variance.
// Throws ShapeError when a channel has a single value (N*S == 1), as PyTorch does.
void batchnorm_forward_train_cpu(int64_t n, int64_t c, int64_t s, const float* x, const float* gamma,
                                 const float* beta, float eps, float momentum, float* running_mean,
                                 float* running_var, float* y, float* save_mean, float* save_invstd,
                                 bool relu);

// Inference: normalise with the running statistics (then a ReLU when `relu`).
void batchnorm_forward_eval_cpu(int64_t n, int64_t c, int64_t s, const float* x, const float* gamma,
                                const float* beta, float eps, const float* running_mean,
                                const float* running_var, float* y, bool relu);

// Exact training-mode backward from the saved input x and the saved statistics. dx is overwritten;
// dgamma/dbeta [C] are overwritten, or added to when accumulate_param_grads (either may be null).
void batchnorm_backward_cpu(int64_t n, int64_t c, int64_t s, const float* x, const float* dy,
                            const float* gamma, const float* save_mean, const float* save_invstd,
                            float* dx, float* dgamma, float* dbeta, bool accumulate_param_grads);

// Same backward from the normalised input xhat = (x - mean) * invstd, for modes that stash (an
// approximation of) xhat instead of x. Mathematically identical to batchnorm_backward_cpu.
void batchnorm_backward_from_xhat_cpu(int64_t n, int64_t c, int64_t s, const float* xhat,
                                      const float* dy, const float* gamma, const float* save_invstd,
                                      float* dx, float* dgamma, float* dbeta,
                                      bool accumulate_param_grads);

// Backward of relu(batchnorm(x)) from dz, the gradient of the ReLU's output: the ReLU's mask is
// recomputed from x and the saved statistics exactly as the forward computed the output, so the result
// equals the ReLU's backward followed by batchnorm_backward_cpu bit for bit, without ever storing either
// the BN output or its gradient. dx, dgamma, dbeta are overwritten (dx may be null, or dz itself).
void batchnorm_relu_backward_cpu(int64_t n, int64_t c, int64_t s, const float* x, const float* dz,
                                 const float* gamma, const float* beta, const float* save_mean,
                                 const float* save_invstd, float* dx, float* dgamma, float* dbeta);

// The data gradient of a BatchNorm whose statistics span several data-parallel replicas: per channel,
// dx = gamma*invstd * (dy - mean_dy - xhat * mean_dy_xhat), where the two means are over the global batch
// (summed across replicas by the caller) and xhat = (x - x_shift) * x_scale (x_shift and x_scale null:
// x is xhat). dx may alias dy.
void batchnorm_backward_data_given_means_cpu(int64_t n, int64_t c, int64_t s, const float* x, const float* x_shift,
                                             const float* x_scale, const float* dy, const float* gamma,
                                             const float* invstd, const float* mean_dy, const float* mean_dy_xhat,
                                             float* dx);

}  // namespace frugal
