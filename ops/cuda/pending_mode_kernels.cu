// Placeholder for the approximate-mode kernels until they land: each throws rather than run nothing.
// DELETE this file when mode_kernels_cuda.h is implemented.
#include "core/error.h"
#include "ops/cuda/mode_kernels_cuda.h"

namespace frugal::cuda {
namespace {
[[noreturn]] void pending(const char* name) {
  throw Error(std::string("CUDA kernel ") + name + " is not implemented yet");
}
}  // namespace

void fewbit_encode(int64_t n, const float* x, const FewbitLevels& table, uint8_t* packed) { pending("fewbit_encode"); }
void fewbit_backward(int64_t n, const uint8_t* packed, const FewbitLevels& table, const float* dy, float* dx) {
  pending("fewbit_backward");
}
void channel_mean_std(int64_t n, int64_t c, int64_t s, const float* y, float* mean, float* std) {
  pending("channel_mean_std");
}
void batchnorm_output_mean_std(int64_t c, const float* gamma, const float* beta, const float* save_invstd, float eps,
                               float* mean, float* std) {
  pending("batchnorm_output_mean_std");
}
void relu_grid(int64_t c, const float* mean, const float* std, int bits, float* grid) { pending("relu_grid"); }
void quantize(int64_t n, int64_t c, int64_t s, const float* y, const float* grid, int bits, uint8_t* packed) {
  pending("quantize");
}
void dequantize_relu(int64_t n, int64_t c, int64_t s, const uint8_t* packed, const float* grid, int bits, float* h) {
  pending("dequantize_relu");
}
void dequantize_normalized(int64_t n, int64_t c, int64_t s, const uint8_t* packed, const float* grid, int bits,
                           const float* gamma, const float* beta, float* xhat) {
  pending("dequantize_normalized");
}
void relu_backward_from_codes(int64_t n, int64_t c, int64_t s, const uint8_t* packed, const float* grid, int bits,
                              const float* dy, float* dx) {
  pending("relu_backward_from_codes");
}
size_t trace_sketch_scratch_bytes(const TraceProbes& probes) { pending("trace_sketch_scratch_bytes"); }
size_t conv_trace_workspace_bytes(const Conv2dGeometry& g, const TraceProbes& probes) {
  pending("conv_trace_workspace_bytes");
}
size_t linear_trace_workspace_bytes(int64_t n, int64_t in, int64_t out, const TraceProbes& probes) {
  pending("linear_trace_workspace_bytes");
}
void conv_trace_sketch(const Conv2dGeometry& g, const TraceProbes& probes, const float* x, float* sketch,
                       float* scratch) {
  pending("conv_trace_sketch");
}
void conv_trace_weight_grad(const Conv2dGeometry& g, const TraceProbes& probes, const float* sketch, const float* dy,
                            float* dw, float* workspace) {
  pending("conv_trace_weight_grad");
}
void linear_trace_sketch(int64_t n, int64_t in, const TraceProbes& probes, const float* x, float* sketch,
                         float* scratch) {
  pending("linear_trace_sketch");
}
void linear_trace_weight_grad(int64_t n, int64_t in, int64_t out, const TraceProbes& probes, const float* sketch,
                              const float* dy, float* dw, float* workspace) {
  pending("linear_trace_weight_grad");
}
void outer_product_scores(int64_t batch, int64_t slots, int64_t fx, int64_t fy, const float* x, const float* dy,
                          float* mem_x, float* mem_dy, double* scores) {
  pending("outer_product_scores");
}
void outer_product_gather(int64_t k, const int64_t* rows, int64_t slots, int64_t fx, int64_t fy, const float* x,
                          const float* dy, const float* mem_x, const float* mem_dy, float* xs, float* dys) {
  pending("outer_product_gather");
}
void outer_product_forget(int64_t k, const int64_t* rows, int64_t slots, int64_t fx, int64_t fy, float decay_factor,
                          float* mem_x, float* mem_dy) {
  pending("outer_product_forget");
}

}  // namespace frugal::cuda
