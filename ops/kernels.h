// The device-neutral kernel interface: every computation on tensor data that layers, backward modes,
// optimizers and the step runtime ask for, as one entry per kernel. The CPU backend (ops/cpu/) and the
// CUDA backend (ops/cuda/) implement it; callers pick one with kernels_for(tensor.device()) or a layer's
// kernels(), and never include a backend header (docs/design.md, "Kernels and devices").
//
//   const Kernels& k = kernels_for(x.device());
//   k.add(n, a.device_f32(), b.device_f32(), y.device_f32());
//
// Conventions, for every entry:
//  - Pointers are in the backend's device memory (Tensor::device_data), except where an argument says
//    "host". Scalars and small structs travel by value.
//  - Outputs are overwritten unless the entry says it accumulates; "may alias" lists the only allowed
//    overlaps.
//  - Workspace is planned memory handed in by the caller; a kernel never allocates in steady state. Its
//    size comes from the matching *_workspace_bytes query of the same backend.
//  - Results are deterministic: the same inputs give the same bits on the same backend and thread count.
//    Entries that return a value to the host (the loss, counts) wait for the device.
// The per-entry contracts (shapes, rounding, edge cases) are those of the CPU kernels in ops/cpu/,
// which are the reference every other backend is tested against.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

#include "core/device.h"
#include "core/rng.h"
#include "ops/activation_spec.h"
#include "ops/conv_geometry.h"
#include "ops/optimizer_math.h"
#include "ops/packed_codes.h"
#include "ops/pool_geometry.h"
#include "ops/trace_probes.h"

namespace frugal {

class Kernels {
 public:
  virtual ~Kernels() = default;
  virtual Device device() const = 0;
  // What runs the kernels, for logs and reports: e.g. "cpu: OpenBLAS 0.3.21 ..." or the GPU's name.
  virtual std::string describe() const = 0;
  DeviceRuntime& runtime() const { return device_runtime(device()); }

  // ---- Elementwise, over n contiguous floats (ops/cpu/elementwise_cpu.h) ----
  virtual void add(int64_t n, const float* a, const float* b, float* y) const = 0;  // y may alias a or b
  virtual void add_inplace(int64_t n, float* y, const float* x) const = 0;          // y += x
  virtual void scale(int64_t n, float alpha, const float* x, float* y) const = 0;   // y may alias x
  virtual void copy(int64_t n, const float* x, float* y) const = 0;
  virtual void copy_to_two(int64_t n, const float* x, float* y_a, float* y_b) const = 0;
  virtual void add_relu(int64_t n, const float* a, const float* b, float* z) const = 0;
  virtual void relu_grad_to_two(int64_t n, const float* z, const float* dz, float* y_a, float* y_b) const = 0;
  virtual void fill_bytes(void* dst, uint8_t value, size_t bytes) const = 0;
  virtual void increment(int64_t* counter) const = 0;  // *counter += 1 (BN's num_batches_tracked)

  // ---- Activations (ops/cpu/activation_cpu.h) ----
  virtual void activation_forward(const ActivationSpec& a, int64_t n, const float* x, float* y) const = 0;
  virtual void activation_backward(const ActivationSpec& a, int64_t n, const float* x, const float* dy,
                                   float* dx) const = 0;
  virtual void activation_backward_from_output(const ActivationSpec& a, int64_t n, const float* y,
                                               const float* dy, float* dx) const = 0;

  // ---- Batch normalisation, x [N, C, S] (ops/cpu/batchnorm_cpu.h) ----
  virtual void batchnorm_forward_train(int64_t n, int64_t c, int64_t s, const float* x, const float* gamma,
                                       const float* beta, float eps, float momentum, float* running_mean,
                                       float* running_var, float* y, float* save_mean, float* save_invstd,
                                       bool relu) const = 0;
  virtual void batchnorm_forward_eval(int64_t n, int64_t c, int64_t s, const float* x, const float* gamma,
                                      const float* beta, float eps, const float* running_mean,
                                      const float* running_var, float* y, bool relu) const = 0;
  virtual void batchnorm_backward(int64_t n, int64_t c, int64_t s, const float* x, const float* dy,
                                  const float* gamma, const float* save_mean, const float* save_invstd, float* dx,
                                  float* dgamma, float* dbeta, bool accumulate_param_grads) const = 0;
  virtual void batchnorm_backward_from_xhat(int64_t n, int64_t c, int64_t s, const float* xhat, const float* dy,
                                            const float* gamma, const float* save_invstd, float* dx,
                                            float* dgamma, float* dbeta, bool accumulate_param_grads) const = 0;
  virtual void batchnorm_relu_backward(int64_t n, int64_t c, int64_t s, const float* x, const float* dz,
                                       const float* gamma, const float* beta, const float* save_mean,
                                       const float* save_invstd, float* dx, float* dgamma,
                                       float* dbeta) const = 0;
  // BatchNorm over the batches of all data-parallel replicas: dx from per-channel means of dy and dy*xhat
  // over the global batch, xhat = (x - x_shift) * x_scale (both null: x is xhat).
  virtual void batchnorm_backward_data_given_means(int64_t n, int64_t c, int64_t s, const float* x,
                                                   const float* x_shift, const float* x_scale, const float* dy,
                                                   const float* gamma, const float* invstd, const float* mean_dy,
                                                   const float* mean_dy_xhat, float* dx) const = 0;

  // ---- Convolution (ops/cpu/conv_cpu.h); workspace in bytes for this backend ----
  // Whether g.winograd lets the passes take an algorithm that needs more workspace (CPU: Winograd; CUDA:
  // a faster cuDNN algorithm above the workspace limit).
  virtual bool conv2d_winograd_applies(const Conv2dGeometry& g) const = 0;
  virtual size_t conv2d_forward_workspace_bytes(const Conv2dGeometry& g) const = 0;
  virtual size_t conv2d_backward_workspace_bytes(const Conv2dGeometry& g) const = 0;  // data + weight
  virtual void conv2d_forward(const Conv2dGeometry& g, const float* x, const float* w, const float* bias,
                              float* y, float* workspace) const = 0;
  virtual void conv2d_backward_data(const Conv2dGeometry& g, const float* dy, const float* w, float* dx,
                                    float* workspace) const = 0;
  virtual void conv2d_backward_weight(const Conv2dGeometry& g, const float* x, const float* dy, float* dw,
                                      float* db, float* workspace, bool accumulate) const = 0;

  // ---- Fully connected, x [N, in], w [out, in] (ops/cpu/linear_cpu.h) ----
  virtual void linear_forward(int64_t n, int64_t in, int64_t out, const float* x, const float* w,
                              const float* bias, float* y) const = 0;
  virtual void linear_backward_data(int64_t n, int64_t in, int64_t out, const float* dy, const float* w,
                                    float* dx) const = 0;
  virtual void linear_backward_weight(int64_t n, int64_t in, int64_t out, const float* x, const float* dy,
                                      float* dw, float* db, bool accumulate) const = 0;
  // db[c] (+)= sum of dy[b, c, s] (ops/cpu/bias_grad.h).
  virtual void bias_gradient(int64_t batch, int64_t channels, int64_t spatial, const float* dy, float* db,
                             bool accumulate) const = 0;
  // Row-major C[M,N] = alpha op(A) op(B) + beta C (ops/cpu/gemm.h).
  virtual void gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a,
                    int64_t lda, const float* b, int64_t ldb, float beta, float* c, int64_t ldc) const = 0;

  // ---- Pooling (ops/cpu/pool_cpu.h) ----
  virtual void maxpool2d_forward(const Pool2dGeometry& g, const float* x, float* y, uint8_t* argmax) const = 0;
  virtual void maxpool2d_backward(const Pool2dGeometry& g, const float* dy, const uint8_t* argmax,
                                  float* dx) const = 0;
  virtual void avgpool2d_forward(const Pool2dGeometry& g, const float* x, float* y) const = 0;
  virtual void avgpool2d_backward(const Pool2dGeometry& g, const float* dy, float* dx) const = 0;
  virtual void global_avgpool_forward(int64_t n, int64_t c, int64_t s, const float* x, float* y) const = 0;
  virtual void global_avgpool_backward(int64_t n, int64_t c, int64_t s, const float* dy, float* dx) const = 0;

  // ---- Dropout (ops/cpu/dropout_cpu.h): the mask comes from the counter-based RNG, the same on every
  // backend ----
  virtual void dropout_forward(int64_t n, float p, const RngKey& key, const float* x, float* y,
                               uint8_t* mask) const = 0;
  virtual void dropout_backward(int64_t n, float p, const float* dy, const uint8_t* mask, float* dx) const = 0;

  // ---- Softmax cross-entropy, logits [N, K], labels int32 [N] (ops/cpu/loss_cpu.h) ----
  // Returns the mean loss to the host (a device reduces per-sample losses in a fixed order in scratch
  // of its own, counted with the runtime's bytes).
  virtual float softmax_xent_forward(int64_t n, int64_t k, const float* logits, const int32_t* labels,
                                     float label_smoothing, float* probs) const = 0;
  virtual void softmax_xent_backward(int64_t n, int64_t k, const float* probs, const int32_t* labels,
                                     float label_smoothing, float grad_scale, float* dlogits) const = 0;
  virtual int64_t count_correct(int64_t n, int64_t k, const float* logits, const int32_t* labels) const = 0;

  // ---- Optimizer updates over n contiguous elements (ops/optimizer_math.h) ----
  // momentum_buffer null: plain SGD.
  virtual void sgd_update(int64_t n, const SgdScalars& s, float* p, const float* grad,
                          float* momentum_buffer) const = 0;
  virtual void adamw_update(int64_t n, const AdamWScalars& s, float* p, const float* grad, float* exp_avg,
                            float* exp_avg_sq) const = 0;

  // ---- fewbit codes (ops/cpu/fewbit_cpu.h) ----
  virtual void fewbit_encode(int64_t n, const float* x, const FewbitLevels& table, uint8_t* packed) const = 0;
  virtual void fewbit_backward(int64_t n, const uint8_t* packed, const FewbitLevels& table, const float* dy,
                               float* dx) const = 0;

  // ---- K-bit quantized activations, y [N, C, S], grid [3, C] (ops/cpu/quantize_cpu.h) ----
  virtual void channel_mean_std(int64_t n, int64_t c, int64_t s, const float* y, float* mean,
                                float* std) const = 0;
  // The mean and std of a BatchNorm's output y = gamma x̂ + beta from its parameters and saved 1/std:
  // mean = beta, std = |gamma| sqrt(1 - eps invstd^2) (clamped at 0).
  virtual void batchnorm_output_mean_std(int64_t c, const float* gamma, const float* beta,
                                         const float* save_invstd, float eps, float* mean, float* std) const = 0;
  virtual void relu_grid(int64_t c, const float* mean, const float* std, int bits, float* grid) const = 0;
  virtual void quantize(int64_t n, int64_t c, int64_t s, const float* y, const float* grid, int bits,
                        uint8_t* packed) const = 0;
  virtual void dequantize_relu(int64_t n, int64_t c, int64_t s, const uint8_t* packed, const float* grid,
                               int bits, float* h) const = 0;
  virtual void dequantize_normalized(int64_t n, int64_t c, int64_t s, const uint8_t* packed, const float* grid,
                                     int bits, const float* gamma, const float* beta, float* xhat) const = 0;
  virtual void relu_backward_from_codes(int64_t n, int64_t c, int64_t s, const uint8_t* packed,
                                        const float* grid, int bits, const float* dy, float* dx) const = 0;

  // ---- Randomized-trace weight gradients (ops/cpu/randomized_trace_cpu.h) ----
  // Scratch of the sketch kernels (kept by the mode across steps), in bytes.
  virtual size_t trace_sketch_scratch_bytes(const TraceProbes& probes) const = 0;
  virtual size_t conv_trace_workspace_bytes(const Conv2dGeometry& g, const TraceProbes& probes) const = 0;
  virtual size_t linear_trace_workspace_bytes(int64_t n, int64_t in, int64_t out,
                                              const TraceProbes& probes) const = 0;
  virtual void conv_trace_sketch(const Conv2dGeometry& g, const TraceProbes& probes, const float* x,
                                 float* sketch, float* scratch) const = 0;
  virtual void conv_trace_weight_grad(const Conv2dGeometry& g, const TraceProbes& probes, const float* sketch,
                                      const float* dy, float* dw, float* workspace) const = 0;
  virtual void linear_trace_sketch(int64_t n, int64_t in, const TraceProbes& probes, const float* x,
                                   float* sketch, float* scratch) const = 0;
  virtual void linear_trace_weight_grad(int64_t n, int64_t in, int64_t out, const TraceProbes& probes,
                                        const float* sketch, const float* dy, float* dw,
                                        float* workspace) const = 0;

  // ---- Outer-product sampling with memory (Mem-AOP-GD), rows of fx / fy floats ----
  // Rows b < slots first add x_b / dy_b into the memory rows (a_b = mem_x_b + x_b); then
  // scores[b] = |a_b|^2 |g_b|^2 in double for every b < batch (rows >= slots are x_b, dy_b themselves).
  virtual void outer_product_scores(int64_t batch, int64_t slots, int64_t fx, int64_t fy, const float* x,
                                    const float* dy, float* mem_x, float* mem_dy, double* scores) const = 0;
  // Copies the k chosen rows (host array `rows`, ascending) of a / g into xs [k, fx] and dys [k, fy].
  virtual void outer_product_gather(int64_t k, const int64_t* rows, int64_t slots, int64_t fx, int64_t fy,
                                    const float* x, const float* dy, const float* mem_x, const float* mem_dy,
                                    float* xs, float* dys) const = 0;
  // The chosen memory rows (host `rows`) are emptied; the other memory rows are scaled by `decay_factor`.
  virtual void outer_product_forget(int64_t k, const int64_t* rows, int64_t slots, int64_t fx, int64_t fy,
                                    float decay_factor, float* mem_x, float* mem_dy) const = 0;

  // ---- Fixed random feedback matrices (ops/feedback_fill.h) ----
  virtual void feedback_uniform(uint64_t key, float* out, int64_t n, float bound) const = 0;
  virtual void feedback_normal(uint64_t key, float* out, int64_t n, float stddev) const = 0;
};

// The kernels of `device`. ConfigError when the CUDA backend is not built or no GPU is visible.
const Kernels& kernels_for(Device device);

// The CUDA backend's kernels, from its module (ops/cuda_module.h), loaded and started on first use.
// ConfigError, naming the cause, when the build has none, its module cannot be loaded, or it cannot
// start (no GPU visible, driver too old); never null.
const Kernels* cuda_kernels();

}  // namespace frugal
