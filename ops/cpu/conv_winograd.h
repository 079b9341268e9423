// Winograd F(2x2, 3x3) convolution (Lavin & Gray, "Fast Algorithms for Convolutional Neural Networks",
// 2016) for 3x3, stride-1, pad-1 convolutions with many channels: every 2x2 block of outputs comes from
// a 4x4 input tile in a transformed space where the 3x3 kernel costs 16 multiplies per channel pair
// instead of 36, as 16 GEMMs [O x C] x [C x tiles]. The transforms cost O(C + O) per tile against the
// GEMMs' O(C * O), so it wins from 32 channels on (ResNet-20's 32 and 64, ResNet-18's 64 to 512; at 16
// the direct kernels are as fast). Results differ from direct convolution by float rounding only (the
// transforms add and halve; relative error ~1e-6).
//
// Every transform runs over a flat vector of tiles (tile rows of several samples end to end), so small
// maps (8x8, 4x4) vectorise as well as large ones, and the 16 products go through the direct kernels'
// register tiles (a 1x1 convolution each) with the transformed weights packed for them. Work is split
// over the batch into one chunk per OpenMP thread, like the other conv kernels, so results are
// bit-identical run to run for the same thread count.
#pragma once
#include <cstddef>

#include "ops/cpu/conv_cpu.h"

namespace frugal {

// g.winograd, 3x3 kernel, stride 1, pad 1, no dilation, one group, and min(C, O) >= kWinogradMinChannels.
bool winograd_applies(const Conv2dGeometry& g);

// Workspace of both passes below: the transformed weights [16, O, C] and, per batch chunk, one tile
// group's transformed inputs and products.
size_t winograd_workspace_floats(const Conv2dGeometry& g);

// y = conv(x, w) + bias (bias may be null).
void winograd_forward_cpu(const Conv2dGeometry& g, const float* x, const float* w, const float* bias,
                          float* y, float* workspace);

// dx = conv_transpose(dy, w): for this geometry, the same convolution of dy with w flipped and its
// channel axes swapped.
void winograd_backward_data_cpu(const Conv2dGeometry& g, const float* dy, const float* w, float* dx,
                                float* workspace);

// The weight gradient the same way (conv_winograd_weight.cpp): where winograd_applies(g), on AVX-512
// builds (elsewhere the direct kernels compute it).
bool winograd_weight_grad_applies(const Conv2dGeometry& g);
size_t winograd_weight_grad_workspace_floats(const Conv2dGeometry& g);

// dw (+)= the gradient of the 3x3 kernels [O, C, 3, 3] for input x and output gradient dy (overwritten
// unless `accumulate`); the bias gradient is not computed here. Bit-identical for any thread count.
void winograd_backward_weight_cpu(const Conv2dGeometry& g, const float* x, const float* dy, float* dw,
                                  float* workspace, bool accumulate);

}  // namespace frugal
