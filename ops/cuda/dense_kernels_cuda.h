// The CUDA kernels of the dense ops: elementwise, activations, batch normalisation, convolution (cuDNN),
// fully connected and GEMM (cuBLAS), pooling, dropout, softmax cross-entropy, optimizer updates and the
// feedback-matrix fills. Each has the contract of the Kernels entry of the same name (ops/kernels.h);
// CudaKernels (cuda_kernels.cu) forwards to these. All run on cuda::compute_stream(); device pointers
// unless an argument says host.
#pragma once
#include <cstddef>
#include <cstdint>

#include "core/rng.h"
#include "ops/activation_spec.h"
#include "ops/conv_geometry.h"
#include "ops/optimizer_math.h"
#include "ops/pool_geometry.h"

namespace frugal::cuda {

void add(int64_t n, const float* a, const float* b, float* y);
void add_inplace(int64_t n, float* y, const float* x);
void scale(int64_t n, float alpha, const float* x, float* y);
void copy(int64_t n, const float* x, float* y);
void copy_to_two(int64_t n, const float* x, float* y_a, float* y_b);
void add_relu(int64_t n, const float* a, const float* b, float* z);
void relu_grad_to_two(int64_t n, const float* z, const float* dz, float* y_a, float* y_b);
void fill_bytes(void* dst, uint8_t value, size_t bytes);
void increment(int64_t* counter);
void activation_forward(const ActivationSpec& a, int64_t n, const float* x, float* y);
void activation_backward(const ActivationSpec& a, int64_t n, const float* x, const float* dy, float* dx);
void activation_backward_from_output(const ActivationSpec& a, int64_t n, const float* y, const float* dy, float* dx);
void batchnorm_forward_train(int64_t n, int64_t c, int64_t s, const float* x, const float* gamma, const float* beta,
                             float eps, float momentum, float* running_mean, float* running_var, float* y,
                             float* save_mean, float* save_invstd, bool relu);
void batchnorm_forward_eval(int64_t n, int64_t c, int64_t s, const float* x, const float* gamma, const float* beta,
                            float eps, const float* running_mean, const float* running_var, float* y, bool relu);
void batchnorm_backward(int64_t n, int64_t c, int64_t s, const float* x, const float* dy, const float* gamma,
                        const float* save_mean, const float* save_invstd, float* dx, float* dgamma, float* dbeta,
                        bool accumulate_param_grads);
void batchnorm_backward_from_xhat(int64_t n, int64_t c, int64_t s, const float* xhat, const float* dy,
                                  const float* gamma, const float* save_invstd, float* dx, float* dgamma, float* dbeta,
                                  bool accumulate_param_grads);
void batchnorm_relu_backward(int64_t n, int64_t c, int64_t s, const float* x, const float* dz, const float* gamma,
                             const float* beta, const float* save_mean, const float* save_invstd, float* dx,
                             float* dgamma, float* dbeta);
bool conv2d_winograd_applies(const Conv2dGeometry& g);
size_t conv2d_forward_workspace_bytes(const Conv2dGeometry& g);
size_t conv2d_backward_workspace_bytes(const Conv2dGeometry& g);
void conv2d_forward(const Conv2dGeometry& g, const float* x, const float* w, const float* bias, float* y,
                    float* workspace);
void conv2d_backward_data(const Conv2dGeometry& g, const float* dy, const float* w, float* dx, float* workspace);
void conv2d_backward_weight(const Conv2dGeometry& g, const float* x, const float* dy, float* dw, float* db,
                            float* workspace, bool accumulate);
void linear_forward(int64_t n, int64_t in, int64_t out, const float* x, const float* w, const float* bias, float* y);
void linear_backward_data(int64_t n, int64_t in, int64_t out, const float* dy, const float* w, float* dx);
void linear_backward_weight(int64_t n, int64_t in, int64_t out, const float* x, const float* dy, float* dw, float* db,
                            bool accumulate);
void bias_gradient(int64_t batch, int64_t channels, int64_t spatial, const float* dy, float* db, bool accumulate);
void gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a, int64_t lda,
          const float* b, int64_t ldb, float beta, float* c, int64_t ldc);
void maxpool2d_forward(const Pool2dGeometry& g, const float* x, float* y, uint8_t* argmax);
void maxpool2d_backward(const Pool2dGeometry& g, const float* dy, const uint8_t* argmax, float* dx);
void avgpool2d_forward(const Pool2dGeometry& g, const float* x, float* y);
void avgpool2d_backward(const Pool2dGeometry& g, const float* dy, float* dx);
void global_avgpool_forward(int64_t n, int64_t c, int64_t s, const float* x, float* y);
void global_avgpool_backward(int64_t n, int64_t c, int64_t s, const float* dy, float* dx);
void dropout_forward(int64_t n, float p, const RngKey& key, const float* x, float* y, uint8_t* mask);
void dropout_backward(int64_t n, float p, const float* dy, const uint8_t* mask, float* dx);
float softmax_xent_forward(int64_t n, int64_t k, const float* logits, const int32_t* labels, float label_smoothing,
                           float* probs);
void softmax_xent_backward(int64_t n, int64_t k, const float* probs, const int32_t* labels, float label_smoothing,
                           float grad_scale, float* dlogits);
int64_t count_correct(int64_t n, int64_t k, const float* logits, const int32_t* labels);
void sgd_update(int64_t n, const SgdScalars& s, float* p, const float* grad, float* momentum_buffer);
void adamw_update(int64_t n, const AdamWScalars& s, float* p, const float* grad, float* exp_avg, float* exp_avg_sq);
void feedback_uniform(uint64_t key, float* out, int64_t n, float bound);
void feedback_normal(uint64_t key, float* out, int64_t n, float stddev);

}  // namespace frugal::cuda
