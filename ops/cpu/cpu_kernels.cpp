#include "ops/cpu/cpu_kernels.h"

#include <cblas.h>

#include <cstring>

#include "ops/cpu/activation_cpu.h"
#include "ops/cpu/batchnorm_cpu.h"
#include "ops/cpu/bias_grad.h"
#include "ops/cpu/conv_cpu.h"
#include "ops/cpu/conv_winograd.h"
#include "ops/cpu/dropout_cpu.h"
#include "ops/cpu/elementwise_cpu.h"
#include "ops/cpu/feedback_fill_cpu.h"
#include "ops/cpu/fewbit_cpu.h"
#include "ops/cpu/gemm.h"
#include "ops/cpu/linear_cpu.h"
#include "ops/cpu/loss_cpu.h"
#include "ops/cpu/optimizer_cpu.h"
#include "ops/cpu/outer_product_cpu.h"
#include "ops/cpu/pool_cpu.h"
#include "ops/cpu/quantize_cpu.h"
#include "ops/cpu/randomized_trace_cpu.h"

namespace frugal {
namespace {

// Forwards every entry to the CPU kernel of the same name (the kernels' headers hold the contracts).
class CpuKernels final : public Kernels {
 public:
  Device device() const override { return Device::CPU; }
  std::string describe() const override { return std::string("cpu: OpenBLAS ") + openblas_get_config(); }

  void add(int64_t n, const float* a, const float* b, float* y) const override { add_cpu(n, a, b, y); }
  void add_inplace(int64_t n, float* y, const float* x) const override { add_inplace_cpu(n, y, x); }
  void scale(int64_t n, float alpha, const float* x, float* y) const override { scale_cpu(n, alpha, x, y); }
  void copy(int64_t n, const float* x, float* y) const override { copy_cpu(n, x, y); }
  void copy_to_two(int64_t n, const float* x, float* y_a, float* y_b) const override {
    copy_to_two_cpu(n, x, y_a, y_b);
  }
  void add_relu(int64_t n, const float* a, const float* b, float* z) const override { add_relu_cpu(n, a, b, z); }
  void relu_grad_to_two(int64_t n, const float* z, const float* dz, float* y_a, float* y_b) const override {
    relu_grad_to_two_cpu(n, z, dz, y_a, y_b);
  }
  void fill_bytes(void* dst, uint8_t value, size_t bytes) const override {
    if (bytes) std::memset(dst, value, bytes);
  }
  void increment(int64_t* counter) const override { *counter += 1; }

  void activation_forward(const ActivationSpec& a, int64_t n, const float* x, float* y) const override {
    activation_forward_cpu(a, n, x, y);
  }
  void activation_backward(const ActivationSpec& a, int64_t n, const float* x, const float* dy,
                           float* dx) const override {
    activation_backward_cpu(a, n, x, dy, dx);
  }
  void activation_backward_from_output(const ActivationSpec& a, int64_t n, const float* y, const float* dy,
                                       float* dx) const override {
    activation_backward_from_output_cpu(a, n, y, dy, dx);
  }

  void batchnorm_forward_train(int64_t n, int64_t c, int64_t s, const float* x, const float* gamma,
                               const float* beta, float eps, float momentum, float* running_mean,
                               float* running_var, float* y, float* save_mean, float* save_invstd,
                               bool relu) const override {
    batchnorm_forward_train_cpu(n, c, s, x, gamma, beta, eps, momentum, running_mean, running_var, y, save_mean,
                                save_invstd, relu);
  }
  void batchnorm_forward_eval(int64_t n, int64_t c, int64_t s, const float* x, const float* gamma,
                              const float* beta, float eps, const float* running_mean, const float* running_var,
                              float* y, bool relu) const override {
    batchnorm_forward_eval_cpu(n, c, s, x, gamma, beta, eps, running_mean, running_var, y, relu);
  }
  void batchnorm_backward(int64_t n, int64_t c, int64_t s, const float* x, const float* dy, const float* gamma,
                          const float* save_mean, const float* save_invstd, float* dx, float* dgamma,
                          float* dbeta, bool accumulate_param_grads) const override {
    batchnorm_backward_cpu(n, c, s, x, dy, gamma, save_mean, save_invstd, dx, dgamma, dbeta,
                           accumulate_param_grads);
  }
  void batchnorm_backward_from_xhat(int64_t n, int64_t c, int64_t s, const float* xhat, const float* dy,
                                    const float* gamma, const float* save_invstd, float* dx, float* dgamma,
                                    float* dbeta, bool accumulate_param_grads) const override {
    batchnorm_backward_from_xhat_cpu(n, c, s, xhat, dy, gamma, save_invstd, dx, dgamma, dbeta,
                                     accumulate_param_grads);
  }
  void batchnorm_relu_backward(int64_t n, int64_t c, int64_t s, const float* x, const float* dz,
                               const float* gamma, const float* beta, const float* save_mean,
                               const float* save_invstd, float* dx, float* dgamma, float* dbeta) const override {
    batchnorm_relu_backward_cpu(n, c, s, x, dz, gamma, beta, save_mean, save_invstd, dx, dgamma, dbeta);
  }
  void batchnorm_backward_data_given_means(int64_t n, int64_t c, int64_t s, const float* x, const float* x_shift,
                                           const float* x_scale, const float* dy, const float* gamma,
                                           const float* invstd, const float* mean_dy, const float* mean_dy_xhat,
                                           float* dx) const override {
    batchnorm_backward_data_given_means_cpu(n, c, s, x, x_shift, x_scale, dy, gamma, invstd, mean_dy, mean_dy_xhat,
                                            dx);
  }

  bool conv2d_winograd_applies(const Conv2dGeometry& g) const override { return winograd_applies(g); }
  size_t conv2d_forward_workspace_bytes(const Conv2dGeometry& g) const override {
    return conv2d_forward_workspace_floats(g) * sizeof(float);
  }
  size_t conv2d_backward_workspace_bytes(const Conv2dGeometry& g) const override {
    return conv2d_backward_workspace_floats(g) * sizeof(float);
  }
  void conv2d_forward(const Conv2dGeometry& g, const float* x, const float* w, const float* bias, float* y,
                      float* workspace) const override {
    conv2d_forward_cpu(g, x, w, bias, y, workspace);
  }
  void conv2d_backward_data(const Conv2dGeometry& g, const float* dy, const float* w, float* dx,
                            float* workspace) const override {
    conv2d_backward_data_cpu(g, dy, w, dx, workspace);
  }
  void conv2d_backward_weight(const Conv2dGeometry& g, const float* x, const float* dy, float* dw, float* db,
                              float* workspace, bool accumulate) const override {
    conv2d_backward_weight_cpu(g, x, dy, dw, db, workspace, accumulate);
  }

  void linear_forward(int64_t n, int64_t in, int64_t out, const float* x, const float* w, const float* bias,
                      float* y) const override {
    linear_forward_cpu(n, in, out, x, w, bias, y);
  }
  void linear_backward_data(int64_t n, int64_t in, int64_t out, const float* dy, const float* w,
                            float* dx) const override {
    linear_backward_data_cpu(n, in, out, dy, w, dx);
  }
  void linear_backward_weight(int64_t n, int64_t in, int64_t out, const float* x, const float* dy, float* dw,
                              float* db, bool accumulate) const override {
    linear_backward_weight_cpu(n, in, out, x, dy, dw, db, accumulate);
  }
  void bias_gradient(int64_t batch, int64_t channels, int64_t spatial, const float* dy, float* db,
                     bool accumulate) const override {
    bias_gradient_cpu(batch, channels, spatial, dy, db, accumulate);
  }
  void gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a, int64_t lda,
            const float* b, int64_t ldb, float beta, float* c, int64_t ldc) const override {
    sgemm_rowmajor_parallel(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
  }

  void maxpool2d_forward(const Pool2dGeometry& g, const float* x, float* y, uint8_t* argmax) const override {
    maxpool2d_forward_cpu(g, x, y, argmax);
  }
  void maxpool2d_backward(const Pool2dGeometry& g, const float* dy, const uint8_t* argmax,
                          float* dx) const override {
    maxpool2d_backward_cpu(g, dy, argmax, dx);
  }
  void avgpool2d_forward(const Pool2dGeometry& g, const float* x, float* y) const override {
    avgpool2d_forward_cpu(g, x, y);
  }
  void avgpool2d_backward(const Pool2dGeometry& g, const float* dy, float* dx) const override {
    avgpool2d_backward_cpu(g, dy, dx);
  }
  void global_avgpool_forward(int64_t n, int64_t c, int64_t s, const float* x, float* y) const override {
    global_avgpool_forward_cpu(n, c, s, x, y);
  }
  void global_avgpool_backward(int64_t n, int64_t c, int64_t s, const float* dy, float* dx) const override {
    global_avgpool_backward_cpu(n, c, s, dy, dx);
  }

  void dropout_forward(int64_t n, float p, const RngKey& key, const float* x, float* y,
                       uint8_t* mask) const override {
    dropout_forward_cpu(n, p, key, x, y, mask);
  }
  void dropout_backward(int64_t n, float p, const float* dy, const uint8_t* mask, float* dx) const override {
    dropout_backward_cpu(n, p, dy, mask, dx);
  }

  float softmax_xent_forward(int64_t n, int64_t k, const float* logits, const int32_t* labels,
                             float label_smoothing, float* probs) const override {
    return softmax_cross_entropy_forward_cpu(n, k, logits, labels, label_smoothing, probs);
  }
  void softmax_xent_backward(int64_t n, int64_t k, const float* probs, const int32_t* labels,
                             float label_smoothing, float grad_scale, float* dlogits) const override {
    softmax_cross_entropy_backward_cpu(n, k, probs, labels, label_smoothing, grad_scale, dlogits);
  }
  int64_t count_correct(int64_t n, int64_t k, const float* logits, const int32_t* labels) const override {
    return count_correct_cpu(n, k, logits, labels);
  }

  void sgd_update(int64_t n, const SgdScalars& s, float* p, const float* grad,
                  float* momentum_buffer) const override {
    sgd_update_cpu(n, s, p, grad, momentum_buffer);
  }
  void adamw_update(int64_t n, const AdamWScalars& s, float* p, const float* grad, float* exp_avg,
                    float* exp_avg_sq) const override {
    adamw_update_cpu(n, s, p, grad, exp_avg, exp_avg_sq);
  }

  void fewbit_encode(int64_t n, const float* x, const FewbitLevels& table, uint8_t* packed) const override {
    fewbit_encode_cpu(n, x, table.borders, table.bits, packed);
  }
  void fewbit_backward(int64_t n, const uint8_t* packed, const FewbitLevels& table, const float* dy,
                       float* dx) const override {
    fewbit_backward_cpu(n, packed, table.bits, table.levels, dy, dx);
  }

  void channel_mean_std(int64_t n, int64_t c, int64_t s, const float* y, float* mean, float* std) const override {
    channel_mean_std_cpu(n, c, s, y, mean, std);
  }
  void batchnorm_output_mean_std(int64_t c, const float* gamma, const float* beta, const float* save_invstd,
                                 float eps, float* mean, float* std) const override {
    batchnorm_output_mean_std_cpu(c, gamma, beta, save_invstd, eps, mean, std);
  }
  void relu_grid(int64_t c, const float* mean, const float* std, int bits, float* grid) const override {
    relu_grid_cpu(c, mean, std, bits, grid);
  }
  void quantize(int64_t n, int64_t c, int64_t s, const float* y, const float* grid, int bits,
                uint8_t* packed) const override {
    quantize_cpu(n, c, s, y, grid, bits, packed);
  }
  void dequantize_relu(int64_t n, int64_t c, int64_t s, const uint8_t* packed, const float* grid, int bits,
                       float* h) const override {
    dequantize_relu_cpu(n, c, s, packed, grid, bits, h);
  }
  void dequantize_normalized(int64_t n, int64_t c, int64_t s, const uint8_t* packed, const float* grid, int bits,
                             const float* gamma, const float* beta, float* xhat) const override {
    dequantize_normalized_cpu(n, c, s, packed, grid, bits, gamma, beta, xhat);
  }
  void relu_backward_from_codes(int64_t n, int64_t c, int64_t s, const uint8_t* packed, const float* grid,
                                int bits, const float* dy, float* dx) const override {
    relu_backward_from_codes_cpu(n, c, s, packed, grid, bits, dy, dx);
  }

  size_t trace_sketch_scratch_bytes(const TraceProbes& probes) const override {
    return trace_sketch_scratch_floats(probes) * sizeof(float);
  }
  size_t conv_trace_workspace_bytes(const Conv2dGeometry& g, const TraceProbes& probes) const override {
    return conv_trace_workspace_floats(g, probes) * sizeof(float);
  }
  size_t linear_trace_workspace_bytes(int64_t n, int64_t in, int64_t out, const TraceProbes& probes) const override {
    return linear_trace_workspace_floats(n, in, out, probes) * sizeof(float);
  }
  void conv_trace_sketch(const Conv2dGeometry& g, const TraceProbes& probes, const float* x, float* sketch,
                         float* scratch) const override {
    conv_trace_sketch_cpu(g, probes, x, sketch, scratch);
  }
  void conv_trace_weight_grad(const Conv2dGeometry& g, const TraceProbes& probes, const float* sketch,
                              const float* dy, float* dw, float* workspace) const override {
    conv_trace_weight_grad_cpu(g, probes, sketch, dy, dw, workspace);
  }
  void linear_trace_sketch(int64_t n, int64_t in, const TraceProbes& probes, const float* x, float* sketch,
                           float* scratch) const override {
    linear_trace_sketch_cpu(n, in, probes, x, sketch, scratch);
  }
  void linear_trace_weight_grad(int64_t n, int64_t in, int64_t out, const TraceProbes& probes,
                                const float* sketch, const float* dy, float* dw, float* workspace) const override {
    linear_trace_weight_grad_cpu(n, in, out, probes, sketch, dy, dw, workspace);
  }

  void outer_product_scores(int64_t batch, int64_t slots, int64_t fx, int64_t fy, const float* x, const float* dy,
                            float* mem_x, float* mem_dy, double* scores) const override {
    outer_product_scores_cpu(batch, slots, fx, fy, x, dy, mem_x, mem_dy, scores);
  }
  void outer_product_gather(int64_t k, const int64_t* rows, int64_t slots, int64_t fx, int64_t fy, const float* x,
                            const float* dy, const float* mem_x, const float* mem_dy, float* xs,
                            float* dys) const override {
    outer_product_gather_cpu(k, rows, slots, fx, fy, x, dy, mem_x, mem_dy, xs, dys);
  }
  void outer_product_forget(int64_t k, const int64_t* rows, int64_t slots, int64_t fx, int64_t fy,
                            float decay_factor, float* mem_x, float* mem_dy) const override {
    outer_product_forget_cpu(k, rows, slots, fx, fy, decay_factor, mem_x, mem_dy);
  }

  void feedback_uniform(uint64_t key, float* out, int64_t n, float bound) const override {
    feedback_uniform_cpu(key, out, n, bound);
  }
  void feedback_normal(uint64_t key, float* out, int64_t n, float stddev) const override {
    feedback_normal_cpu(key, out, n, stddev);
  }
};

}  // namespace

const Kernels& cpu_kernels() {
  static const CpuKernels instance;
  return instance;
}

}  // namespace frugal
