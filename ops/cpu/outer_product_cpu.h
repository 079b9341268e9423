// CPU kernels of outer-product sampling with memory (Mem-AOP-GD, docs/algorithms.md): per-sample rows of
// the layer input (fx floats) and output gradient (fy floats), an error-feedback memory of `slots` rows
// of each, scores for the sampling, and the gather of the chosen rows (ops/kernels.h has the contract).
#pragma once
#include <cstdint>

namespace frugal {

void outer_product_scores_cpu(int64_t batch, int64_t slots, int64_t fx, int64_t fy, const float* x,
                              const float* dy, float* mem_x, float* mem_dy, double* scores);
void outer_product_gather_cpu(int64_t k, const int64_t* rows, int64_t slots, int64_t fx, int64_t fy,
                              const float* x, const float* dy, const float* mem_x, const float* mem_dy, float* xs,
                              float* dys);
void outer_product_forget_cpu(int64_t k, const int64_t* rows, int64_t slots, int64_t fx, int64_t fy,
                              float decay_factor, float* mem_x, float* mem_dy);

}  // namespace frugal
