// Direct convolution over zero-padded planes, without im2col or OpenBLAS. With a stride of one,
// output pixel (oh, ow) reads padded input pixel (oh + kh*dil, ow + kw*dil), so in a padded plane
// stored row-major with width Wp every tap is a constant offset from the flat index q = oh*Wp + ow.
// Each sample is computed on "wide" output rows of Wp pixels (the last Wp - OW of each row are
// discarded), which turns the conv into register-tiled multiply-adds over contiguous vectors: small
// channel counts (ResNet's 16-64) no longer pay for writing and re-packing nine copies of the input
// per GEMM. A stride s > 1 becomes stride one by a polyphase split: phase (a, b) of the padded
// input holds pixels (s*i + a, s*j + b), and tap kh*dil = s*m + a reads phase a at row oh + m,
// again a constant offset. Each channel's used phases are stored one after another, so the same
// kernels run unchanged. Backward-data is the same kernel on dy with transposed weights: for stride
// one a conv with flipped weights, for larger strides one stride-1 correlation per phase of dx (see
// DirectDataPhase). The weight gradient correlates the padded (split) input with dy on the same
// grid. Callers split the batch over threads.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

#include "ops/cpu/conv_cpu.h"

namespace frugal {

// The padded-plane layout of one one-group conv y = conv(x, w), for one sample.
struct DirectConvPlan {
  struct Phase {
    int64_t row,
        col;  // (a, b): the phase holds padded input pixels (stride_h*i + a, stride_w*j + b)
  };
  int64_t in_channels, out_channels, taps;  // C, O, KH*KW
  int64_t kernel_h, kernel_w, dilation_h, dilation_w;
  int64_t in_h, in_w, pad_h, pad_w, stride_h, stride_w;
  int64_t out_h, out_w;
  int64_t phase_h, padded_w;  // rows and columns of a phase plane; padded_w is the stride of wide
                              // rows (for stride one: the padded input, Hp x Wp)
  int64_t wide_pixels;        // OH*padded_w rounded up to whole pixel tiles
  int64_t phase_stride;       // floats per phase plane, with zeros past the end for the last tiles
  int64_t plane_stride;       // floats per input channel: phases.size() * phase_stride
  int64_t out_rows;           // O rounded up to whole channel tiles
  int64_t
      grad_samples;  // samples the weight gradient takes at once (several when planes are small)
  std::vector<Phase> phases;         // the phases some tap reads (one, (0, 0), for stride one)
  std::vector<int64_t> tap_offsets;  // phase*phase_stride + m*padded_w + n, in OIHW tap order
  // Dense grid (dense_grid_plan): phase k is the padded input shifted left by k*dilation_w columns and
  // cut to OW columns (phases[k].col = k*dilation_w), padded_w = OW, and tap (kh, kw) reads phase kw
  // at offset kh*dilation_h*OW; the grid is the output plane itself, without discarded columns.
  bool dense = false;
};

// Whether each pass of g has a direct kernel that beats im2col + sgemm. All need one group.
// Forward: the wide grid wastes little (not for tiny images). Backward-data runs as a conv of dy
// padded by dil*(K-1) - pad with w transposed and flipped, so it needs stride one, pad <=
// dil*(K-1), and enough input channels to fill a tile (direct_strided_backward_data_applies covers
// larger strides). Weight gradient: enough input channels to fill a vector, and outputs of 8x8 or
// more where the conv is strided.
bool direct_conv_applies(const Conv2dGeometry& g);
bool direct_backward_data_applies(const Conv2dGeometry& g);
bool direct_weight_grad_applies(const Conv2dGeometry& g);

// Plans of g's forward pass and of its backward-data pass (the latter only where it applies).
DirectConvPlan direct_forward_plan(const Conv2dGeometry& g);
DirectConvPlan direct_backward_data_plan(const Conv2dGeometry& g);

// The plan of the same stride-1 pass on a dense grid where its input planes (kernel_w shifted copies of
// the padded input instead of one) fit in L1, as with few input channels; otherwise p itself. Every
// output pixel is the same sum in the same order as on the wide grid, bit for bit.
DirectConvPlan dense_grid_plan(const DirectConvPlan& p);

// Floats of the weights packed for direct_conv_sample, and per-thread scratch of each entry point.
size_t direct_packed_weight_floats(const DirectConvPlan& p);
size_t direct_conv_scratch_floats(const DirectConvPlan& p);    // padded input + wide output
size_t direct_weight_grad_scratch_floats(const DirectConvPlan& p);  // channels-last phase planes

// Packs OIHW weights w[O, C, KH, KW] for the forward plan, or (transpose_flip) for the backward-data plan
// of the same conv, whose output channels are w's input channels and taps run in reverse.
void pack_direct_weights(const DirectConvPlan& p, const float* w, bool transpose_flip, float* packed);

// y[O, OH, OW] = conv(x[C, H, W]) + bias (bias may be null), one sample.
void direct_conv_sample(const DirectConvPlan& p, const float* x, const float* packed, const float* bias,
                        float* y, float* scratch);

// Backward-data of a conv with stride s > 1: phase (a, b) of the padded dx, pixels (s*i + a, s*j +
// b), is the sum over the taps kh*dil = s*m + a, kw*dil = s*n + b (the phase's taps) of w[o, c, kh,
// kw] * dy[o, i - m, j - n], a stride-1 correlation of dy. Every phase reads dy padded by the
// largest m above and n to the left (one shared layout: plan.in_* describe dy), and computes the
// rows [first_row, first_row + plan.out_h) and columns likewise of its phase that land inside dx.
struct DirectDataPhase {
  DirectConvPlan plan;  // out_channels = C; tap_offsets already point at (first_row, first_col)
  int64_t row, col;     // the phase (a, b)
  int64_t first_row, first_col;
  std::vector<int64_t> taps;  // the phase's kernel taps, OIHW tap indices (may be none)
};

bool direct_strided_backward_data_applies(const Conv2dGeometry& g);
std::vector<DirectDataPhase> direct_strided_backward_data_plan(const Conv2dGeometry& g);
size_t direct_strided_packed_weight_floats(const std::vector<DirectDataPhase>& phases);
size_t direct_strided_scratch_floats(const std::vector<DirectDataPhase>& phases);
void pack_direct_strided_weights(const Conv2dGeometry& g,
                                 const std::vector<DirectDataPhase>& phases, const float* w,
                                 float* packed);

// dx[C, H, W] = conv_transpose(dy[O, OH, OW], w) for one sample of g. Overwrites dx.
void direct_strided_backward_data_sample(const Conv2dGeometry& g,
                                         const std::vector<DirectDataPhase>& phases,
                                         const float* dy, const float* packed, float* dx,
                                         float* scratch);

// dw[O, C, KH, KW] += correlation of x[samples, C, H, W] with dy[samples, O, OH, OW] (forward plan),
// for up to p.grad_samples samples. Each entry gets one float add of a sum in a fixed order.
void direct_weight_grad_samples(const DirectConvPlan& p, const float* x, const float* dy, int64_t samples,
                                float* dw, float* scratch);

}  // namespace frugal
