// Randomized trace estimation of the weight gradient of conv and linear layers (XConv, Louboutin et al.
// 2021; docs/algorithms.md §1). The forward pass keeps a sketch of the input X (its projection onto r
// random probes) instead of X; the backward pass regenerates the probes and estimates dW from the sketch
// and dY. The estimate is exactly unbiased: probes are shifted with zero fill (im2col of the probe
// image with the conv's own stride, padding and dilation), never circularly.
//
// Probe modes, conv X [N, C, H, W] (linear X [N, F]):
//   independent  conv: probes over the H*W pixels, shared by all channels; sketch [N, C, r].
//                linear: probes over the batch (token) axis; sketch [r, F].
//   gaussian     probes over a whole sample (C*H*W, or F); sketch [N, r].
//   orthogonal   as gaussian, but channel c (feature f) only uses its subset of the probes, which
//                removes cross-channel terms (see probes_cpu.h).
// All kernels overwrite their outputs and do not allocate; scratch is passed in. Work is split
// statically (over the batch or GEMM blocks), so results are bit-identical for a given thread count.
#pragma once
#include <cstddef>
#include <cstdint>

#include "core/shape.h"
#include "ops/cpu/conv_cpu.h"
#include "ops/cpu/probes_cpu.h"

namespace frugal {

// Floats of scratch the sketch kernels need: r probes of a block of entries at a time.
size_t trace_sketch_scratch_floats(const TraceProbes& probes);

// ---- Conv2d (groups == 1; any kernel, stride, padding, dilation; non-square inputs) ----
size_t conv_trace_workspace_floats(const Conv2dGeometry& g, const TraceProbes& probes);
// sketch (conv_trace_sketch_shape) from x [N, C, H, W].
void conv_trace_sketch_cpu(const Conv2dGeometry& g, const TraceProbes& probes, const float* x, float* sketch,
                           float* scratch);
// dw [O, C, KH, KW] = the trace estimate from the sketch and dy [N, O, OH, OW].
void conv_trace_weight_grad_cpu(const Conv2dGeometry& g, const TraceProbes& probes, const float* sketch,
                                const float* dy, float* dw, float* workspace);

// ---- Linear: x [N, in], dy [N, out], dw [out, in] ----
size_t linear_trace_workspace_floats(int64_t n, int64_t in, int64_t out, const TraceProbes& probes);
void linear_trace_sketch_cpu(int64_t n, int64_t in, const TraceProbes& probes, const float* x, float* sketch,
                             float* scratch);
void linear_trace_weight_grad_cpu(int64_t n, int64_t in, int64_t out, const TraceProbes& probes,
                                  const float* sketch, const float* dy, float* dw, float* workspace);

}  // namespace frugal
