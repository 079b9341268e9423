// 2-D max/average pooling and global average pooling (float32, NCHW), floor mode as in PyTorch.
#pragma once
#include <cstdint>
#include <string>

#include "ops/pool_geometry.h"

namespace frugal {

// Max pool stores the argmax as the index INSIDE the window (kh*kernel_w + kw), one byte per output
// element. Padding never wins; ties keep the first maximum; NaN propagates.
void maxpool2d_forward_cpu(const Pool2dGeometry& g, const float* x, float* y, uint8_t* argmax /* may be null */);
void maxpool2d_backward_cpu(const Pool2dGeometry& g, const float* dy, const uint8_t* argmax,
                            float* dx);  // dx overwritten (zeros + scatter-add)

void avgpool2d_forward_cpu(const Pool2dGeometry& g, const float* x, float* y);
void avgpool2d_backward_cpu(const Pool2dGeometry& g, const float* dy, float* dx);  // dx overwritten

// x [N, C, S] -> y [N, C], the mean over S = H*W; the backward spreads dy/S over each plane.
void global_avgpool_forward_cpu(int64_t n, int64_t c, int64_t s, const float* x, float* y);
void global_avgpool_backward_cpu(int64_t n, int64_t c, int64_t s, const float* dy, float* dx);

}  // namespace frugal
