// The CUDA backend behind the kernel interface (ops/kernels.h): CudaKernels forwards each entry to its
// kernel in dense_kernels_cuda.h or mode_kernels_cuda.h, and cuda_kernels() starts the runtime
// (cuda_runtime.cu) on first use, so that asking for CUDA where no GPU is visible is a ConfigError.
#include "core/error.h"
#include "ops/cuda/cuda_runtime.h"
#include "ops/cuda/dense_kernels_cuda.h"
#include "ops/cuda/mode_kernels_cuda.h"
#include "ops/cuda/sync_batchnorm_cuda.h"
#include "ops/kernels.h"

namespace frugal {
namespace {

class CudaKernels final : public Kernels {
 public:
  Device device() const override { return Device::CUDA; }
  std::string describe() const override { return cuda::describe_device(); }

  void add(int64_t n, const float* a, const float* b, float* y) const override { cuda::add(n, a, b, y); }
  void add_inplace(int64_t n, float* y, const float* x) const override { cuda::add_inplace(n, y, x); }
  void scale(int64_t n, float alpha, const float* x, float* y) const override { cuda::scale(n, alpha, x, y); }
  void copy(int64_t n, const float* x, float* y) const override { cuda::copy(n, x, y); }
  void copy_to_two(int64_t n, const float* x, float* y_a, float* y_b) const override {
    cuda::copy_to_two(n, x, y_a, y_b);
  }
  void add_relu(int64_t n, const float* a, const float* b, float* z) const override { cuda::add_relu(n, a, b, z); }
  void relu_grad_to_two(int64_t n, const float* z, const float* dz, float* y_a, float* y_b) const override {
    cuda::relu_grad_to_two(n, z, dz, y_a, y_b);
  }
  void fill_bytes(void* dst, uint8_t value, size_t bytes) const override { cuda::fill_bytes(dst, value, bytes); }
  void increment(int64_t* counter) const override { cuda::increment(counter); }
  void activation_forward(const ActivationSpec& a, int64_t n, const float* x, float* y) const override {
    cuda::activation_forward(a, n, x, y);
  }
  void activation_backward(const ActivationSpec& a, int64_t n, const float* x, const float* dy,
                           float* dx) const override {
    cuda::activation_backward(a, n, x, dy, dx);
  }
  void activation_backward_from_output(const ActivationSpec& a, int64_t n, const float* y, const float* dy,
                                       float* dx) const override {
    cuda::activation_backward_from_output(a, n, y, dy, dx);
  }
  void batchnorm_forward_train(int64_t n, int64_t c, int64_t s, const float* x, const float* gamma, const float* beta,
                               float eps, float momentum, float* running_mean, float* running_var, float* y,
                               float* save_mean, float* save_invstd, bool relu) const override {
    cuda::batchnorm_forward_train(n, c, s, x, gamma, beta, eps, momentum, running_mean, running_var, y, save_mean,
                                  save_invstd, relu);
  }
  void batchnorm_forward_eval(int64_t n, int64_t c, int64_t s, const float* x, const float* gamma, const float* beta,
                              float eps, const float* running_mean, const float* running_var, float* y,
                              bool relu) const override {
    cuda::batchnorm_forward_eval(n, c, s, x, gamma, beta, eps, running_mean, running_var, y, relu);
  }
  void batchnorm_backward(int64_t n, int64_t c, int64_t s, const float* x, const float* dy, const float* gamma,
                          const float* save_mean, const float* save_invstd, float* dx, float* dgamma, float* dbeta,
                          bool accumulate_param_grads) const override {
    cuda::batchnorm_backward(n, c, s, x, dy, gamma, save_mean, save_invstd, dx, dgamma, dbeta, accumulate_param_grads);
  }
  void batchnorm_backward_from_xhat(int64_t n, int64_t c, int64_t s, const float* xhat, const float* dy,
                                    const float* gamma, const float* save_invstd, float* dx, float* dgamma,
                                    float* dbeta, bool accumulate_param_grads) const override {
    cuda::batchnorm_backward_from_xhat(n, c, s, xhat, dy, gamma, save_invstd, dx, dgamma, dbeta,
                                       accumulate_param_grads);
  }
  void batchnorm_relu_backward(int64_t n, int64_t c, int64_t s, const float* x, const float* dz, const float* gamma,
                               const float* beta, const float* save_mean, const float* save_invstd, float* dx,
                               float* dgamma, float* dbeta) const override {
    cuda::batchnorm_relu_backward(n, c, s, x, dz, gamma, beta, save_mean, save_invstd, dx, dgamma, dbeta);
  }
  void batchnorm_backward_data_given_means(int64_t n, int64_t c, int64_t s, const float* x, const float* x_shift,
                                           const float* x_scale, const float* dy, const float* gamma,
                                           const float* invstd, const float* mean_dy, const float* mean_dy_xhat,
                                           float* dx) const override {
    cuda::batchnorm_backward_data_given_means(n, c, s, x, x_shift, x_scale, dy, gamma, invstd, mean_dy, mean_dy_xhat,
                                              dx);
  }
  bool conv2d_winograd_applies(const Conv2dGeometry& g) const override { return cuda::conv2d_winograd_applies(g); }
  size_t conv2d_forward_workspace_bytes(const Conv2dGeometry& g) const override {
    return cuda::conv2d_forward_workspace_bytes(g);
  }
  size_t conv2d_backward_workspace_bytes(const Conv2dGeometry& g) const override {
    return cuda::conv2d_backward_workspace_bytes(g);
  }
  void conv2d_forward(const Conv2dGeometry& g, const float* x, const float* w, const float* bias, float* y,
                      float* workspace) const override {
    cuda::conv2d_forward(g, x, w, bias, y, workspace);
  }
  void conv2d_backward_data(const Conv2dGeometry& g, const float* dy, const float* w, float* dx,
                            float* workspace) const override {
    cuda::conv2d_backward_data(g, dy, w, dx, workspace);
  }
  void conv2d_backward_weight(const Conv2dGeometry& g, const float* x, const float* dy, float* dw, float* db,
                              float* workspace, bool accumulate) const override {
    cuda::conv2d_backward_weight(g, x, dy, dw, db, workspace, accumulate);
  }
  void linear_forward(int64_t n, int64_t in, int64_t out, const float* x, const float* w, const float* bias,
                      float* y) const override {
    cuda::linear_forward(n, in, out, x, w, bias, y);
  }
  void linear_backward_data(int64_t n, int64_t in, int64_t out, const float* dy, const float* w,
                            float* dx) const override {
    cuda::linear_backward_data(n, in, out, dy, w, dx);
  }
  void linear_backward_weight(int64_t n, int64_t in, int64_t out, const float* x, const float* dy, float* dw, float* db,
                              bool accumulate) const override {
    cuda::linear_backward_weight(n, in, out, x, dy, dw, db, accumulate);
  }
  void bias_gradient(int64_t batch, int64_t channels, int64_t spatial, const float* dy, float* db,
                     bool accumulate) const override {
    cuda::bias_gradient(batch, channels, spatial, dy, db, accumulate);
  }
  void gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a, int64_t lda,
            const float* b, int64_t ldb, float beta, float* c, int64_t ldc) const override {
    cuda::gemm(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
  }
  void maxpool2d_forward(const Pool2dGeometry& g, const float* x, float* y, uint8_t* argmax) const override {
    cuda::maxpool2d_forward(g, x, y, argmax);
  }
  void maxpool2d_backward(const Pool2dGeometry& g, const float* dy, const uint8_t* argmax, float* dx) const override {
    cuda::maxpool2d_backward(g, dy, argmax, dx);
  }
  void avgpool2d_forward(const Pool2dGeometry& g, const float* x, float* y) const override {
    cuda::avgpool2d_forward(g, x, y);
  }
  void avgpool2d_backward(const Pool2dGeometry& g, const float* dy, float* dx) const override {
    cuda::avgpool2d_backward(g, dy, dx);
  }
  void global_avgpool_forward(int64_t n, int64_t c, int64_t s, const float* x, float* y) const override {
    cuda::global_avgpool_forward(n, c, s, x, y);
  }
  void global_avgpool_backward(int64_t n, int64_t c, int64_t s, const float* dy, float* dx) const override {
    cuda::global_avgpool_backward(n, c, s, dy, dx);
  }
  void dropout_forward(int64_t n, float p, const RngKey& key, const float* x, float* y, uint8_t* mask) const override {
    cuda::dropout_forward(n, p, key, x, y, mask);
  }
  void dropout_backward(int64_t n, float p, const float* dy, const uint8_t* mask, float* dx) const override {
    cuda::dropout_backward(n, p, dy, mask, dx);
  }
  float softmax_xent_forward(int64_t n, int64_t k, const float* logits, const int32_t* labels, float label_smoothing,
                             float* probs) const override {
    return cuda::softmax_xent_forward(n, k, logits, labels, label_smoothing, probs);
  }
  void softmax_xent_backward(int64_t n, int64_t k, const float* probs, const int32_t* labels, float label_smoothing,
                             float grad_scale, float* dlogits) const override {
    cuda::softmax_xent_backward(n, k, probs, labels, label_smoothing, grad_scale, dlogits);
  }
  int64_t count_correct(int64_t n, int64_t k, const float* logits, const int32_t* labels) const override {
    return cuda::count_correct(n, k, logits, labels);
  }
  void sgd_update(int64_t n, const SgdScalars& s, float* p, const float* grad, float* momentum_buffer) const override {
    cuda::sgd_update(n, s, p, grad, momentum_buffer);
  }
  void adamw_update(int64_t n, const AdamWScalars& s, float* p, const float* grad, float* exp_avg,
                    float* exp_avg_sq) const override {
    cuda::adamw_update(n, s, p, grad, exp_avg, exp_avg_sq);
  }
  void fewbit_encode(int64_t n, const float* x, const FewbitLevels& table, uint8_t* packed) const override {
    cuda::fewbit_encode(n, x, table, packed);
  }
  void fewbit_backward(int64_t n, const uint8_t* packed, const FewbitLevels& table, const float* dy,
                       float* dx) const override {
    cuda::fewbit_backward(n, packed, table, dy, dx);
  }
  void channel_mean_std(int64_t n, int64_t c, int64_t s, const float* y, float* mean, float* std) const override {
    cuda::channel_mean_std(n, c, s, y, mean, std);
  }
  void batchnorm_output_mean_std(int64_t c, const float* gamma, const float* beta, const float* save_invstd, float eps,
                                 float* mean, float* std) const override {
    cuda::batchnorm_output_mean_std(c, gamma, beta, save_invstd, eps, mean, std);
  }
  void relu_grid(int64_t c, const float* mean, const float* std, int bits, float* grid) const override {
    cuda::relu_grid(c, mean, std, bits, grid);
  }
  void quantize(int64_t n, int64_t c, int64_t s, const float* y, const float* grid, int bits,
                uint8_t* packed) const override {
    cuda::quantize(n, c, s, y, grid, bits, packed);
  }
  void dequantize_relu(int64_t n, int64_t c, int64_t s, const uint8_t* packed, const float* grid, int bits,
                       float* h) const override {
    cuda::dequantize_relu(n, c, s, packed, grid, bits, h);
  }
  void dequantize_normalized(int64_t n, int64_t c, int64_t s, const uint8_t* packed, const float* grid, int bits,
                             const float* gamma, const float* beta, float* xhat) const override {
    cuda::dequantize_normalized(n, c, s, packed, grid, bits, gamma, beta, xhat);
  }
  void relu_backward_from_codes(int64_t n, int64_t c, int64_t s, const uint8_t* packed, const float* grid, int bits,
                                const float* dy, float* dx) const override {
    cuda::relu_backward_from_codes(n, c, s, packed, grid, bits, dy, dx);
  }
  size_t trace_sketch_scratch_bytes(const TraceProbes& probes) const override {
    return cuda::trace_sketch_scratch_bytes(probes);
  }
  size_t conv_trace_workspace_bytes(const Conv2dGeometry& g, const TraceProbes& probes) const override {
    return cuda::conv_trace_workspace_bytes(g, probes);
  }
  size_t linear_trace_workspace_bytes(int64_t n, int64_t in, int64_t out, const TraceProbes& probes) const override {
    return cuda::linear_trace_workspace_bytes(n, in, out, probes);
  }
  void conv_trace_sketch(const Conv2dGeometry& g, const TraceProbes& probes, const float* x, float* sketch,
                         float* scratch) const override {
    cuda::conv_trace_sketch(g, probes, x, sketch, scratch);
  }
  void conv_trace_weight_grad(const Conv2dGeometry& g, const TraceProbes& probes, const float* sketch, const float* dy,
                              float* dw, float* workspace) const override {
    cuda::conv_trace_weight_grad(g, probes, sketch, dy, dw, workspace);
  }
  void linear_trace_sketch(int64_t n, int64_t in, const TraceProbes& probes, const float* x, float* sketch,
                           float* scratch) const override {
    cuda::linear_trace_sketch(n, in, probes, x, sketch, scratch);
  }
  void linear_trace_weight_grad(int64_t n, int64_t in, int64_t out, const TraceProbes& probes, const float* sketch,
                                const float* dy, float* dw, float* workspace) const override {
    cuda::linear_trace_weight_grad(n, in, out, probes, sketch, dy, dw, workspace);
  }
  void outer_product_scores(int64_t batch, int64_t slots, int64_t fx, int64_t fy, const float* x, const float* dy,
                            float* mem_x, float* mem_dy, double* scores) const override {
    cuda::outer_product_scores(batch, slots, fx, fy, x, dy, mem_x, mem_dy, scores);
  }
  void outer_product_gather(int64_t k, const int64_t* rows, int64_t slots, int64_t fx, int64_t fy, const float* x,
                            const float* dy, const float* mem_x, const float* mem_dy, float* xs,
                            float* dys) const override {
    cuda::outer_product_gather(k, rows, slots, fx, fy, x, dy, mem_x, mem_dy, xs, dys);
  }
  void outer_product_forget(int64_t k, const int64_t* rows, int64_t slots, int64_t fx, int64_t fy, float decay_factor,
                            float* mem_x, float* mem_dy) const override {
    cuda::outer_product_forget(k, rows, slots, fx, fy, decay_factor, mem_x, mem_dy);
  }
  void feedback_uniform(uint64_t key, float* out, int64_t n, float bound) const override {
    cuda::feedback_uniform(key, out, n, bound);
  }
  void feedback_normal(uint64_t key, float* out, int64_t n, float stddev) const override {
    cuda::feedback_normal(key, out, n, stddev);
  }
};

}  // namespace

}  // namespace frugal

// The module's entry point behind cuda_kernels() (ops/kernels.h).
extern "C" const frugal::Kernels* frugal_cuda_kernels() {
  frugal::cuda::start_runtime();  // ConfigError naming the cause when no GPU can be used
  static frugal::CudaKernels kernels;
  return &kernels;
}
