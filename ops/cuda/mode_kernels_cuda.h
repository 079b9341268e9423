// The CUDA kernels of the approximate backward modes: few-bit codes, K-bit quantized activations,
// randomized-trace sketches and outer-product sampling. Each has the contract of the Kernels entry of the
// same name (ops/kernels.h); CudaKernels (cuda_kernels.cu) forwards to these. All run on
// cuda::compute_stream(); device pointers unless an argument says host.
#pragma once
#include <cstddef>
#include <cstdint>

#include "ops/conv_geometry.h"
#include "ops/packed_codes.h"
#include "ops/trace_probes.h"

namespace frugal::cuda {

void fewbit_encode(int64_t n, const float* x, const FewbitLevels& table, uint8_t* packed);
void fewbit_backward(int64_t n, const uint8_t* packed, const FewbitLevels& table, const float* dy, float* dx);

void channel_mean_std(int64_t n, int64_t c, int64_t s, const float* y, float* mean, float* std);
void batchnorm_output_mean_std(int64_t c, const float* gamma, const float* beta, const float* save_invstd,
                               float eps, float* mean, float* std);
void relu_grid(int64_t c, const float* mean, const float* std, int bits, float* grid);
void quantize(int64_t n, int64_t c, int64_t s, const float* y, const float* grid, int bits, uint8_t* packed);
void dequantize_relu(int64_t n, int64_t c, int64_t s, const uint8_t* packed, const float* grid, int bits, float* h);
void dequantize_normalized(int64_t n, int64_t c, int64_t s, const uint8_t* packed, const float* grid, int bits,
                           const float* gamma, const float* beta, float* xhat);
void relu_backward_from_codes(int64_t n, int64_t c, int64_t s, const uint8_t* packed, const float* grid, int bits,
                              const float* dy, float* dx);

size_t trace_sketch_scratch_bytes(const TraceProbes& probes);
size_t conv_trace_workspace_bytes(const Conv2dGeometry& g, const TraceProbes& probes);
size_t linear_trace_workspace_bytes(int64_t n, int64_t in, int64_t out, const TraceProbes& probes);
void conv_trace_sketch(const Conv2dGeometry& g, const TraceProbes& probes, const float* x, float* sketch,
                       float* scratch);
void conv_trace_weight_grad(const Conv2dGeometry& g, const TraceProbes& probes, const float* sketch, const float* dy,
                            float* dw, float* workspace);
void linear_trace_sketch(int64_t n, int64_t in, const TraceProbes& probes, const float* x, float* sketch,
                         float* scratch);
void linear_trace_weight_grad(int64_t n, int64_t in, int64_t out, const TraceProbes& probes, const float* sketch,
                              const float* dy, float* dw, float* workspace);

void outer_product_scores(int64_t batch, int64_t slots, int64_t fx, int64_t fy, const float* x, const float* dy,
                          float* mem_x, float* mem_dy, double* scores);
void outer_product_gather(int64_t k, const int64_t* rows, int64_t slots, int64_t fx, int64_t fy, const float* x,
                          const float* dy, const float* mem_x, const float* mem_dy, float* xs, float* dys);
void outer_product_forget(int64_t k, const int64_t* rows, int64_t slots, int64_t fx, int64_t fy, float decay_factor,
                          float* mem_x, float* mem_dy);

}  // namespace frugal::cuda
