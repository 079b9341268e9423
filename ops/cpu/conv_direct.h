// Direct stride-1 convolution over zero-padded planes, without im2col or OpenBLAS. With a stride of one,
// output pixel (oh, ow) reads padded input pixel (oh + kh*dil, ow + kw*dil), so in a padded plane stored
// row-major with width Wp every tap is a constant offset from the flat index q = oh*Wp + ow. Each sample
// is computed on "wide" output rows of Wp pixels (the last Wp - OW of each row are discarded), which
// turns the conv into register-tiled multiply-adds over contiguous vectors: small channel counts
// (ResNet's 16-64) no longer pay for writing and re-packing nine copies of the input per GEMM.
// Backward-data is the same kernel on dy with transposed, flipped weights; the weight gradient
// correlates the padded input with dy on the same wide grid. Callers split the batch over threads.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

#include "ops/cpu/conv_cpu.h"

namespace frugal {

// The padded-plane layout of one stride-1, one-group conv y = conv(x, w), for one sample.
struct DirectConvPlan {
  int64_t in_channels, out_channels, taps;  // C, O, KH*KW
  int64_t in_h, in_w, pad_h, pad_w;
  int64_t out_h, out_w;
  int64_t padded_w;        // Wp = W + 2*pad_w: the stride of wide rows
  int64_t wide_pixels;     // OH*Wp rounded up to whole pixel tiles
  int64_t plane_stride;    // floats per padded input plane, with zeros past the end for the last tiles
  int64_t out_rows;        // O rounded up to whole channel tiles
  int64_t padded_pixels;   // Hp * Wp
  int64_t grad_samples;    // samples the weight gradient takes at once (several when planes are small)
  std::vector<int64_t> tap_offsets;  // kh*dil_h*Wp + kw*dil_w, in OIHW tap order
};

// Whether each pass of g has a direct kernel that beats im2col + sgemm. All need stride 1 and one group.
// Forward: the wide grid wastes little (not for tiny images). Backward-data runs as a conv of dy padded
// by dil*(K-1) - pad with w transposed and flipped, so it needs pad <= dil*(K-1), and enough input
// channels to fill a tile. Weight gradient: enough input channels to fill a vector.
bool direct_conv_applies(const Conv2dGeometry& g);
bool direct_backward_data_applies(const Conv2dGeometry& g);
bool direct_weight_grad_applies(const Conv2dGeometry& g);

// Plans of g's forward pass and of its backward-data pass (the latter only where it applies).
DirectConvPlan direct_forward_plan(const Conv2dGeometry& g);
DirectConvPlan direct_backward_data_plan(const Conv2dGeometry& g);

// Floats of the weights packed for direct_conv_sample, and per-thread scratch of each entry point.
size_t direct_packed_weight_floats(const DirectConvPlan& p);
size_t direct_conv_scratch_floats(const DirectConvPlan& p);    // padded input + wide output
size_t direct_weight_grad_scratch_floats(const DirectConvPlan& p);  // channels-last padded inputs

// Packs OIHW weights w[O, C, KH, KW] for the forward plan, or (transpose_flip) for the backward-data plan
// of the same conv, whose output channels are w's input channels and taps run in reverse.
void pack_direct_weights(const DirectConvPlan& p, const float* w, bool transpose_flip, float* packed);

// y[O, OH, OW] = conv(x[C, H, W]) + bias (bias may be null), one sample.
void direct_conv_sample(const DirectConvPlan& p, const float* x, const float* packed, const float* bias,
                        float* y, float* scratch);

// dw[O, C, KH, KW] += correlation of x[samples, C, H, W] with dy[samples, O, OH, OW] (forward plan),
// for up to p.grad_samples samples. Each entry gets one float add of a sum in a fixed order.
void direct_weight_grad_samples(const DirectConvPlan& p, const float* x, const float* dy, int64_t samples,
                                float* dw, float* scratch);

}  // namespace frugal
