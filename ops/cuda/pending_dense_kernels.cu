// Placeholder for the dense kernels until they land: each throws rather than run nothing.
// DELETE this file when dense_kernels_cuda.h is implemented.
#include "core/error.h"
#include "ops/cuda/dense_kernels_cuda.h"

namespace frugal::cuda {
namespace {
[[noreturn]] void pending(const char* name) {
  throw Error(std::string("CUDA kernel ") + name + " is not implemented yet");
}
}  // namespace

void add(int64_t n, const float* a, const float* b, float* y) { pending("add"); }
void add_inplace(int64_t n, float* y, const float* x) { pending("add_inplace"); }
void scale(int64_t n, float alpha, const float* x, float* y) { pending("scale"); }
void copy(int64_t n, const float* x, float* y) { pending("copy"); }
void copy_to_two(int64_t n, const float* x, float* y_a, float* y_b) { pending("copy_to_two"); }
void add_relu(int64_t n, const float* a, const float* b, float* z) { pending("add_relu"); }
void relu_grad_to_two(int64_t n, const float* z, const float* dz, float* y_a, float* y_b) {
  pending("relu_grad_to_two");
}
void fill_bytes(void* dst, uint8_t value, size_t bytes) { pending("fill_bytes"); }
void increment(int64_t* counter) { pending("increment"); }
void activation_forward(const ActivationSpec& a, int64_t n, const float* x, float* y) { pending("activation_forward"); }
void activation_backward(const ActivationSpec& a, int64_t n, const float* x, const float* dy, float* dx) {
  pending("activation_backward");
}
void activation_backward_from_output(const ActivationSpec& a, int64_t n, const float* y, const float* dy, float* dx) {
  pending("activation_backward_from_output");
}
void batchnorm_forward_train(int64_t n, int64_t c, int64_t s, const float* x, const float* gamma, const float* beta,
                             float eps, float momentum, float* running_mean, float* running_var, float* y,
                             float* save_mean, float* save_invstd, bool relu) {
  pending("batchnorm_forward_train");
}
void batchnorm_forward_eval(int64_t n, int64_t c, int64_t s, const float* x, const float* gamma, const float* beta,
                            float eps, const float* running_mean, const float* running_var, float* y, bool relu) {
  pending("batchnorm_forward_eval");
}
void batchnorm_backward(int64_t n, int64_t c, int64_t s, const float* x, const float* dy, const float* gamma,
                        const float* save_mean, const float* save_invstd, float* dx, float* dgamma, float* dbeta,
                        bool accumulate_param_grads) {
  pending("batchnorm_backward");
}
void batchnorm_backward_from_xhat(int64_t n, int64_t c, int64_t s, const float* xhat, const float* dy,
                                  const float* gamma, const float* save_invstd, float* dx, float* dgamma, float* dbeta,
                                  bool accumulate_param_grads) {
  pending("batchnorm_backward_from_xhat");
}
void batchnorm_relu_backward(int64_t n, int64_t c, int64_t s, const float* x, const float* dz, const float* gamma,
                             const float* beta, const float* save_mean, const float* save_invstd, float* dx,
                             float* dgamma, float* dbeta) {
  pending("batchnorm_relu_backward");
}
bool conv2d_winograd_applies(const Conv2dGeometry& g) { pending("conv2d_winograd_applies"); }
size_t conv2d_forward_workspace_bytes(const Conv2dGeometry& g) { pending("conv2d_forward_workspace_bytes"); }
size_t conv2d_backward_workspace_bytes(const Conv2dGeometry& g) { pending("conv2d_backward_workspace_bytes"); }
void conv2d_forward(const Conv2dGeometry& g, const float* x, const float* w, const float* bias, float* y,
                    float* workspace) {
  pending("conv2d_forward");
}
void conv2d_backward_data(const Conv2dGeometry& g, const float* dy, const float* w, float* dx, float* workspace) {
  pending("conv2d_backward_data");
}
void conv2d_backward_weight(const Conv2dGeometry& g, const float* x, const float* dy, float* dw, float* db,
                            float* workspace, bool accumulate) {
  pending("conv2d_backward_weight");
}
void linear_forward(int64_t n, int64_t in, int64_t out, const float* x, const float* w, const float* bias, float* y) {
  pending("linear_forward");
}
void linear_backward_data(int64_t n, int64_t in, int64_t out, const float* dy, const float* w, float* dx) {
  pending("linear_backward_data");
}
void linear_backward_weight(int64_t n, int64_t in, int64_t out, const float* x, const float* dy, float* dw, float* db,
                            bool accumulate) {
  pending("linear_backward_weight");
}
void bias_gradient(int64_t batch, int64_t channels, int64_t spatial, const float* dy, float* db, bool accumulate) {
  pending("bias_gradient");
}
void gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a, int64_t lda,
          const float* b, int64_t ldb, float beta, float* c, int64_t ldc) {
  pending("gemm");
}
void maxpool2d_forward(const Pool2dGeometry& g, const float* x, float* y, uint8_t* argmax) {
  pending("maxpool2d_forward");
}
void maxpool2d_backward(const Pool2dGeometry& g, const float* dy, const uint8_t* argmax, float* dx) {
  pending("maxpool2d_backward");
}
void avgpool2d_forward(const Pool2dGeometry& g, const float* x, float* y) { pending("avgpool2d_forward"); }
void avgpool2d_backward(const Pool2dGeometry& g, const float* dy, float* dx) { pending("avgpool2d_backward"); }
void global_avgpool_forward(int64_t n, int64_t c, int64_t s, const float* x, float* y) {
  pending("global_avgpool_forward");
}
void global_avgpool_backward(int64_t n, int64_t c, int64_t s, const float* dy, float* dx) {
  pending("global_avgpool_backward");
}
void dropout_forward(int64_t n, float p, const RngKey& key, const float* x, float* y, uint8_t* mask) {
  pending("dropout_forward");
}
void dropout_backward(int64_t n, float p, const float* dy, const uint8_t* mask, float* dx) {
  pending("dropout_backward");
}
float softmax_xent_forward(int64_t n, int64_t k, const float* logits, const int32_t* labels, float label_smoothing,
                           float* probs) {
  pending("softmax_xent_forward");
}
void softmax_xent_backward(int64_t n, int64_t k, const float* probs, const int32_t* labels, float label_smoothing,
                           float grad_scale, float* dlogits) {
  pending("softmax_xent_backward");
}
int64_t count_correct(int64_t n, int64_t k, const float* logits, const int32_t* labels) { pending("count_correct"); }
void sgd_update(int64_t n, const SgdScalars& s, float* p, const float* grad, float* momentum_buffer) {
  pending("sgd_update");
}
void adamw_update(int64_t n, const AdamWScalars& s, float* p, const float* grad, float* exp_avg, float* exp_avg_sq) {
  pending("adamw_update");
}
void feedback_uniform(uint64_t key, float* out, int64_t n, float bound) { pending("feedback_uniform"); }
void feedback_normal(uint64_t key, float* out, int64_t n, float stddev) { pending("feedback_normal"); }

}  // namespace frugal::cuda
