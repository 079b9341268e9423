// The arithmetic of 2-D max and average pooling (NCHW, floor mode) per output window and, for the
// backward passes, per input element, for the CUDA kernels (ops/cuda/pool_cuda.cu);
// tests/ops/pool_math_test.cpp holds it against the CPU kernels (ops/cpu/pool_cpu.cpp), which keep
// their own loops. The backward passes gather: input element (h, w) adds the shares of the windows that
// cover it in the order the CPU kernels scatter them (output rows, then columns, from 0), so the sums
// round the same on both devices.
#pragma once
#include <cstdint>

#include "core/host_device.h"
#include "ops/pool_geometry.h"

namespace frugal {
namespace pool_math {

// The part of the window of output (oh, ow) that lies inside the input: rows [h_begin, h_end) and
// columns [w_begin, w_end) in window coordinates; (h0, w0) is the window origin in input coordinates.
struct Window {
  int64_t h0, w0, h_begin, h_end, w_begin, w_end;
};

FRUGAL_HD inline int64_t max_i64(int64_t a, int64_t b) { return a > b ? a : b; }
FRUGAL_HD inline int64_t min_i64(int64_t a, int64_t b) { return a < b ? a : b; }

FRUGAL_HD inline Window window_at(const Pool2dGeometry& g, int64_t oh, int64_t ow) {
  Window w;
  w.h0 = oh * g.stride_h - g.pad_h;
  w.w0 = ow * g.stride_w - g.pad_w;
  w.h_begin = max_i64(0, -w.h0);
  w.h_end = min_i64(g.kernel_h, g.in_h - w.h0);
  w.w_begin = max_i64(0, -w.w0);
  w.w_end = min_i64(g.kernel_w, g.in_w - w.w0);
  return w;
}

// In floor mode a window never reaches past the padding, so "including pad" means the full kernel.
FRUGAL_HD inline float avg_divisor(const Pool2dGeometry& g, const Window& w) {
  if (g.count_include_pad) return static_cast<float>(g.kernel_h * g.kernel_w);
  return static_cast<float>((w.h_end - w.h_begin) * (w.w_end - w.w_begin));
}

// Max over the window of one plane xp [in_h, in_w]: starts from the first element inside the input (so
// padding never wins, even against -inf), ties keep the first maximum, a NaN wins once. The argmax is the
// index inside the window, kh * kernel_w + kw.
FRUGAL_HD inline float window_max(const Pool2dGeometry& g, const float* xp, int64_t oh, int64_t ow, uint8_t* argmax) {
  const Window w = window_at(g, oh, ow);
  float best = xp[(w.h0 + w.h_begin) * g.in_w + w.w0 + w.w_begin];
  int64_t best_index = w.h_begin * g.kernel_w + w.w_begin;
  for (int64_t kh = w.h_begin; kh < w.h_end; ++kh) {
    const float* row = xp + (w.h0 + kh) * g.in_w + w.w0;
    for (int64_t kw = w.w_begin; kw < w.w_end; ++kw) {
      const float v = row[kw];
      if (v > best || (v != v && best == best)) {
        best = v;
        best_index = kh * g.kernel_w + kw;
      }
    }
  }
  if (argmax) *argmax = static_cast<uint8_t>(best_index);
  return best;
}

// Mean over the window: the float sum in row-major window order, divided by the divisor.
FRUGAL_HD inline float window_mean(const Pool2dGeometry& g, const float* xp, int64_t oh, int64_t ow) {
  const Window w = window_at(g, oh, ow);
  float sum = 0.0f;
  for (int64_t kh = w.h_begin; kh < w.h_end; ++kh) {
    const float* row = xp + (w.h0 + kh) * g.in_w + w.w0;
    for (int64_t kw = w.w_begin; kw < w.w_end; ++kw) sum += row[kw];
  }
  return sum / avg_divisor(g, w);
}

// The output windows that cover input coordinate i along one axis: [first, last] (empty when
// first > last), for windows of `kernel` at origin o * stride - pad, o in [0, out).
struct Cover {
  int64_t first, last;
};
FRUGAL_HD inline Cover covering(int64_t i, int64_t kernel, int64_t stride, int64_t pad, int64_t out) {
  // o * stride - pad <= i  and  i < o * stride - pad + kernel
  const int64_t hi = i + pad, lo = i + pad - kernel + 1;
  const int64_t first = lo <= 0 ? 0 : (lo + stride - 1) / stride;
  return {first, min_i64(hi / stride, out - 1)};
}

// dx at input (h, w) of one plane from dy [out_h, out_w] and argmax (max pool): the sum, in output order,
// of the gradients of the windows whose argmax is (h, w).
FRUGAL_HD inline float max_backward_at(const Pool2dGeometry& g, int64_t out_h, int64_t out_w, const float* dyp,
                                       const uint8_t* ap, int64_t h, int64_t w) {
  const Cover rows = covering(h, g.kernel_h, g.stride_h, g.pad_h, out_h);
  const Cover cols = covering(w, g.kernel_w, g.stride_w, g.pad_w, out_w);
  float sum = 0.0f;
  for (int64_t oh = rows.first; oh <= rows.last; ++oh)
    for (int64_t ow = cols.first; ow <= cols.last; ++ow) {
      const int64_t o = oh * out_w + ow;
      const int64_t index = (h - (oh * g.stride_h - g.pad_h)) * g.kernel_w + (w - (ow * g.stride_w - g.pad_w));
      if (ap[o] == index) sum += dyp[o];
    }
  return sum;
}

// dx at input (h, w) of one plane from dy [out_h, out_w] (average pool): the sum, in output order, of
// dy / divisor of every window that covers (h, w).
FRUGAL_HD inline float avg_backward_at(const Pool2dGeometry& g, int64_t out_h, int64_t out_w, const float* dyp,
                                       int64_t h, int64_t w) {
  const Cover rows = covering(h, g.kernel_h, g.stride_h, g.pad_h, out_h);
  const Cover cols = covering(w, g.kernel_w, g.stride_w, g.pad_w, out_w);
  float sum = 0.0f;
  for (int64_t oh = rows.first; oh <= rows.last; ++oh)
    for (int64_t ow = cols.first; ow <= cols.last; ++ow)
      sum += dyp[oh * out_w + ow] / avg_divisor(g, window_at(g, oh, ow));
  return sum;
}

// Global average pooling: y = (sum of the plane in double) / S; the backward spreads dy * (1/S).
FRUGAL_HD inline float global_mean(double plane_sum, int64_t s) {
  return static_cast<float>(plane_sum / static_cast<double>(s));
}
FRUGAL_HD inline float global_share(float dy, int64_t s) { return dy * (1.0f / static_cast<float>(s)); }

}  // namespace pool_math
}  // namespace frugal
