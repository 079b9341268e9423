#include "ops/cpu/pool_cpu.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "core/error.h"

namespace frugal {
namespace {

constexpr int64_t kParallelMinElements = 1 << 15;

// The part of one pooling window that lies inside the input: rows [h_begin, h_end) and columns
// [w_begin, w_end) in window coordinates, and the window origin (h0, w0) in input coordinates.
struct Window {
  int64_t h0, w0, h_begin, h_end, w_begin, w_end;
};

inline Window window_at(const Pool2dGeometry& g, int64_t oh, int64_t ow) {
  Window w;
  w.h0 = oh * g.stride_h - g.pad_h;
  w.w0 = ow * g.stride_w - g.pad_w;
  w.h_begin = std::max<int64_t>(0, -w.h0);
  w.h_end = std::min<int64_t>(g.kernel_h, g.in_h - w.h0);
  w.w_begin = std::max<int64_t>(0, -w.w0);
  w.w_end = std::min<int64_t>(g.kernel_w, g.in_w - w.w0);
  return w;
}

inline float avg_divisor(const Pool2dGeometry& g, const Window& w) {
  // In floor mode a window never reaches past the padding, so "including pad" means the full kernel.
  if (g.count_include_pad) return static_cast<float>(g.kernel_h * g.kernel_w);
  return static_cast<float>((w.h_end - w.h_begin) * (w.w_end - w.w_begin));
}

void check_axis(int64_t in, int64_t kernel, int64_t stride, int64_t pad, const char* axis,
                const std::string& where) {
  auto fail = [&](const std::string& what) {
    throw ShapeError(where + ": pooling " + what + " (axis " + axis + ": input " + std::to_string(in) +
                     ", kernel " + std::to_string(kernel) + ", stride " + std::to_string(stride) +
                     ", padding " + std::to_string(pad) + ")");
  };
  if (in < 1) fail("input size must be at least 1");
  if (kernel < 1) fail("kernel size must be at least 1");
  if (stride < 1) fail("stride must be at least 1");
  if (pad < 0) fail("padding must not be negative");
  if (pad > kernel / 2)
    fail("padding must be at most half the kernel, " + std::to_string(kernel / 2) + ", but is " +
         std::to_string(pad));
  if (in + 2 * pad < kernel) fail("kernel is larger than the padded input");
}

}  // namespace

void validate_pool2d(const Pool2dGeometry& g, const std::string& where, PoolKind kind) {
  FRUGAL_CHECK(g.batch >= 1 && g.channels >= 1, ShapeError,
               where + ": pooling needs batch and channels >= 1, got batch " + std::to_string(g.batch) +
                   ", channels " + std::to_string(g.channels));
  check_axis(g.in_h, g.kernel_h, g.stride_h, g.pad_h, "h", where);
  check_axis(g.in_w, g.kernel_w, g.stride_w, g.pad_w, "w", where);
  FRUGAL_CHECK(kind != PoolKind::Max || g.kernel_h * g.kernel_w <= 255, ShapeError,
               where + ": max pool window " + std::to_string(g.kernel_h) + "x" + std::to_string(g.kernel_w) +
                   " has more than 255 elements (the argmax is stored in one byte)");
}

void maxpool2d_forward_cpu(const Pool2dGeometry& g, const float* x, float* y, uint8_t* argmax) {
  const int64_t oh_n = g.out_h(), ow_n = g.out_w(), planes = g.batch * g.channels;
#pragma omp parallel for schedule(static) if (planes * g.in_h * g.in_w >= kParallelMinElements)
  for (int64_t p = 0; p < planes; ++p) {
    const float* xp = x + p * g.in_h * g.in_w;
    float* yp = y + p * oh_n * ow_n;
    uint8_t* ap = argmax ? argmax + p * oh_n * ow_n : nullptr;  // null: inference, no backward
    for (int64_t oh = 0; oh < oh_n; ++oh) {
      for (int64_t ow = 0; ow < ow_n; ++ow) {
        const Window w = window_at(g, oh, ow);
        // Start from the first element inside the input, so padding never wins even for -inf inputs.
        float best = xp[(w.h0 + w.h_begin) * g.in_w + w.w0 + w.w_begin];
        int64_t best_index = w.h_begin * g.kernel_w + w.w_begin;
        for (int64_t kh = w.h_begin; kh < w.h_end; ++kh) {
          const float* row = xp + (w.h0 + kh) * g.in_w + w.w0;
          for (int64_t kw = w.w_begin; kw < w.w_end; ++kw) {
            const float v = row[kw];
            if (v > best || (std::isnan(v) && !std::isnan(best))) {
              best = v;
              best_index = kh * g.kernel_w + kw;
            }
          }
        }
        yp[oh * ow_n + ow] = best;
        if (ap) ap[oh * ow_n + ow] = static_cast<uint8_t>(best_index);
      }
    }
  }
}

void maxpool2d_backward_cpu(const Pool2dGeometry& g, const float* dy, const uint8_t* argmax, float* dx) {
  const int64_t oh_n = g.out_h(), ow_n = g.out_w(), planes = g.batch * g.channels;
  const int64_t in_plane = g.in_h * g.in_w;
  // One plane per task: overlapping windows only collide inside a plane, where the order is fixed.
#pragma omp parallel for schedule(static) if (planes * in_plane >= kParallelMinElements)
  for (int64_t p = 0; p < planes; ++p) {
    float* dxp = dx + p * in_plane;
    std::memset(dxp, 0, static_cast<size_t>(in_plane) * sizeof(float));
    const float* dyp = dy + p * oh_n * ow_n;
    const uint8_t* ap = argmax + p * oh_n * ow_n;
    for (int64_t oh = 0; oh < oh_n; ++oh) {
      for (int64_t ow = 0; ow < ow_n; ++ow) {
        const int64_t o = oh * ow_n + ow;
        const int64_t kh = ap[o] / g.kernel_w, kw = ap[o] % g.kernel_w;
        const int64_t h = oh * g.stride_h - g.pad_h + kh, w = ow * g.stride_w - g.pad_w + kw;
        dxp[h * g.in_w + w] += dyp[o];
      }
    }
  }
}

void avgpool2d_forward_cpu(const Pool2dGeometry& g, const float* x, float* y) {
  const int64_t oh_n = g.out_h(), ow_n = g.out_w(), planes = g.batch * g.channels;
#pragma omp parallel for schedule(static) if (planes * g.in_h * g.in_w >= kParallelMinElements)
  for (int64_t p = 0; p < planes; ++p) {
    const float* xp = x + p * g.in_h * g.in_w;
    float* yp = y + p * oh_n * ow_n;
    for (int64_t oh = 0; oh < oh_n; ++oh) {
      for (int64_t ow = 0; ow < ow_n; ++ow) {
        const Window w = window_at(g, oh, ow);
        float sum = 0.0f;
        for (int64_t kh = w.h_begin; kh < w.h_end; ++kh) {
          const float* row = xp + (w.h0 + kh) * g.in_w + w.w0;
          for (int64_t kw = w.w_begin; kw < w.w_end; ++kw) sum += row[kw];
        }
        yp[oh * ow_n + ow] = sum / avg_divisor(g, w);
      }
    }
  }
}

void avgpool2d_backward_cpu(const Pool2dGeometry& g, const float* dy, float* dx) {
  const int64_t oh_n = g.out_h(), ow_n = g.out_w(), planes = g.batch * g.channels;
  const int64_t in_plane = g.in_h * g.in_w;
#pragma omp parallel for schedule(static) if (planes * in_plane >= kParallelMinElements)
  for (int64_t p = 0; p < planes; ++p) {
    float* dxp = dx + p * in_plane;
    std::memset(dxp, 0, static_cast<size_t>(in_plane) * sizeof(float));
    const float* dyp = dy + p * oh_n * ow_n;
    for (int64_t oh = 0; oh < oh_n; ++oh) {
      for (int64_t ow = 0; ow < ow_n; ++ow) {
        const Window w = window_at(g, oh, ow);
        const float share = dyp[oh * ow_n + ow] / avg_divisor(g, w);
        for (int64_t kh = w.h_begin; kh < w.h_end; ++kh) {
          float* row = dxp + (w.h0 + kh) * g.in_w + w.w0;
          for (int64_t kw = w.w_begin; kw < w.w_end; ++kw) row[kw] += share;
        }
      }
    }
  }
}

void global_avgpool_forward_cpu(int64_t n, int64_t c, int64_t s, const float* x, float* y) {
#pragma omp parallel for schedule(static) if (n * c * s >= kParallelMinElements)
  for (int64_t p = 0; p < n * c; ++p) {
    const float* xp = x + p * s;
    double sum = 0.0;
    for (int64_t j = 0; j < s; ++j) sum += xp[j];
    y[p] = static_cast<float>(sum / static_cast<double>(s));
  }
}

void global_avgpool_backward_cpu(int64_t n, int64_t c, int64_t s, const float* dy, float* dx) {
  const float inv_s = 1.0f / static_cast<float>(s);
#pragma omp parallel for schedule(static) if (n * c * s >= kParallelMinElements)
  for (int64_t p = 0; p < n * c; ++p) {
    const float share = dy[p] * inv_s;
    float* dxp = dx + p * s;
    for (int64_t j = 0; j < s; ++j) dxp[j] = share;
  }
}

}  // namespace frugal
