// CPU 2-D convolution kernels (float32, NCHW activations, PyTorch OIHW weights): each pass picks, by
// shape, Winograd F(2x2, 3x3) (conv_winograd.h), a direct register-tiled kernel (conv_direct.h) or
// im2col/col2im with OpenBLAS sgemm (conv_columns.h). Work is split over the batch into a fixed number of chunks (one per
// OpenMP thread), so results are bit-identical run to run for the same thread count.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

#include "ops/conv_geometry.h"

namespace frugal {

// Floats of scratch the kernels below need (im2col columns of one sample per batch chunk, plus per-chunk
// partial weight gradients) for the current OpenMP thread count. One size serves all three kernels.
// The caller (memory planner) provides it; the kernels do not allocate on the heap.
size_t conv2d_workspace_floats(const Conv2dGeometry& g);
// The parts of it the forward pass and the two backward passes need.
size_t conv2d_forward_workspace_floats(const Conv2dGeometry& g);
size_t conv2d_backward_workspace_floats(const Conv2dGeometry& g);

// y[N,O,OH,OW] = conv(x, w) + bias (bias [O] may be null).
void conv2d_forward_cpu(const Conv2dGeometry& g, const float* x, const float* w, const float* bias,
                        float* y, float* workspace);

// dx[N,C,H,W] = conv_transpose(dy, w). Overwrites dx.
void conv2d_backward_data_cpu(const Conv2dGeometry& g, const float* dy, const float* w, float* dx,
                              float* workspace);

// dw[O,C/g,KH,KW] (+)= correlation of x and dy; db[O] (+)= sum of dy over N,OH,OW (db may be null).
// accumulate=false overwrites dw/db; true adds into them.
void conv2d_backward_weight_cpu(const Conv2dGeometry& g, const float* x, const float* dy, float* dw,
                                float* db, float* workspace, bool accumulate);

}  // namespace frugal
