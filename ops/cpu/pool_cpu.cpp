#include "ops/cpu/pool_cpu.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "core/error.h"
#include "ops/cpu/channel_sums.h"

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

// The 2x2 kernels see the input as stacks of row pairs, one output row per pair. With an even height
// the planes' row pairs follow each other in memory, so the whole tensor is one stack; with an odd
// height each plane is a stack and its last row is outside every window (as is a last odd column).
// Stacks are cut into bands of output rows; a band's top and bottom input rows (the 2*out_w columns
// that windows cover) are copied into two contiguous buffers, so window k of the band is
// (top[2k], top[2k+1], bottom[2k], bottom[2k+1]): one loop over the whole band, long enough to
// vectorise even when a row holds fewer outputs than a vector has lanes (14 or 7 on Fashion-MNIST).
constexpr int64_t kBandFloats = 2048;  // per buffer: 8 KiB, so a band stays in L1

// Windows of 2x2 with stride 2 and no padding: the usual downsampling pool. Rows wider than a band
// take the generic path.
bool is_tiling_2x2(const Pool2dGeometry& g) {
  return g.kernel_h == 2 && g.kernel_w == 2 && g.stride_h == 2 && g.stride_w == 2 && g.pad_h == 0 &&
         g.pad_w == 0 && 2 * g.out_w() <= kBandFloats;
}

struct Band2x2 {
  int64_t out_row, rows;  // first output row (counting over all planes) and how many
  const float* in;        // top input row of the first pair
  float* in_grad;         // the same position in dx (backward)
  bool ends_odd_plane;    // last band of a plane whose last row is outside every window
};

// Calls fn(band) for every band, split statically over OpenMP threads. Bands write disjoint outputs,
// so results do not depend on the thread count.
template <class Fn>
void for_each_band(const Pool2dGeometry& g, const float* x, float* dx, Fn&& fn) {
  const int64_t planes = g.batch * g.channels, plane_size = g.in_h * g.in_w, oh_n = g.out_h();
  const bool one_stack = g.in_h % 2 == 0;
  const int64_t stacks = one_stack ? 1 : planes, stack_rows = one_stack ? planes * oh_n : oh_n;
  const int64_t band_rows = std::max<int64_t>(1, kBandFloats / (2 * g.out_w()));
  const int64_t bands_per_stack = (stack_rows + band_rows - 1) / band_rows;
#pragma omp parallel for schedule(static) if (planes * plane_size >= kParallelMinElements)
  for (int64_t item = 0; item < stacks * bands_per_stack; ++item) {
    const int64_t stack = item / bands_per_stack, first = (item % bands_per_stack) * band_rows;
    const int64_t in_offset = stack * plane_size + 2 * first * g.in_w;
    fn(Band2x2{stack * stack_rows + first, std::min(band_rows, stack_rows - first), x ? x + in_offset : nullptr,
               dx ? dx + in_offset : nullptr, !one_stack && first + band_rows >= stack_rows});
  }
}

void gather_band(const Pool2dGeometry& g, const Band2x2& b, float* top, float* bottom) {
  const int64_t cols = 2 * g.out_w();
  for (int64_t r = 0; r < b.rows; ++r) {
    const float* row = b.in + 2 * r * g.in_w;
    std::memcpy(top + r * cols, row, static_cast<size_t>(cols) * sizeof(float));
    std::memcpy(bottom + r * cols, row + g.in_w, static_cast<size_t>(cols) * sizeof(float));
  }
}

// The inverse of gather_band into dx, which also gets the zeros outside every window.
void scatter_band(const Pool2dGeometry& g, const Band2x2& b, const float* top, const float* bottom) {
  const int64_t cols = 2 * g.out_w();
  for (int64_t r = 0; r < b.rows; ++r) {
    float* row = b.in_grad + 2 * r * g.in_w;
    std::memcpy(row, top + r * cols, static_cast<size_t>(cols) * sizeof(float));
    std::memcpy(row + g.in_w, bottom + r * cols, static_cast<size_t>(cols) * sizeof(float));
    if (cols < g.in_w) row[cols] = row[g.in_w + cols] = 0.0f;
  }
  if (b.ends_odd_plane)
    std::memset(b.in_grad + 2 * b.rows * g.in_w, 0, static_cast<size_t>(g.in_w) * sizeof(float));
}

// The max-pool update for the next tap v of a window, in window order: ties keep the first maximum,
// and a NaN wins once (then nothing beats it). Branch-free so that it vectorises.
inline void max_tap(float v, int32_t index, float& best, int32_t& best_index) {
  const bool take = v > best || (v != v && best == best);
  best = take ? v : best;
  best_index = take ? index : best_index;
}

void maxpool_forward_2x2(const Pool2dGeometry& g, const float* x, float* y, uint8_t* argmax) {
  const int64_t ow_n = g.out_w();
  for_each_band(g, x, nullptr, [&](const Band2x2& b) {
    alignas(64) float top[kBandFloats], bottom[kBandFloats];
    gather_band(g, b, top, bottom);
    float* yb = y + b.out_row * ow_n;
    uint8_t* ab = argmax ? argmax + b.out_row * ow_n : nullptr;  // null: inference
#pragma omp simd
    for (int64_t k = 0; k < b.rows * ow_n; ++k) {
      float best = top[2 * k];
      int32_t index = 0;
      max_tap(top[2 * k + 1], 1, best, index);
      max_tap(bottom[2 * k], 2, best, index);
      max_tap(bottom[2 * k + 1], 3, best, index);
      yb[k] = best;
      if (ab) ab[k] = static_cast<uint8_t>(index);
    }
  });
}

// Each input element receives its window's gradient if it was the argmax, else 0: one write per
// element and no scatter-add.
void maxpool_backward_2x2(const Pool2dGeometry& g, const float* dy, const uint8_t* argmax, float* dx) {
  const int64_t ow_n = g.out_w();
  for_each_band(g, nullptr, dx, [&](const Band2x2& b) {
    alignas(64) float top[kBandFloats], bottom[kBandFloats];
    const float* dyb = dy + b.out_row * ow_n;
    const uint8_t* ab = argmax + b.out_row * ow_n;
#pragma omp simd
    for (int64_t k = 0; k < b.rows * ow_n; ++k) {
      const float grad = dyb[k];
      const int32_t a = ab[k];
      top[2 * k] = a == 0 ? grad : 0.0f;
      top[2 * k + 1] = a == 1 ? grad : 0.0f;
      bottom[2 * k] = a == 2 ? grad : 0.0f;
      bottom[2 * k + 1] = a == 3 ? grad : 0.0f;
    }
    scatter_band(g, b, top, bottom);
  });
}

void avgpool_forward_2x2(const Pool2dGeometry& g, const float* x, float* y) {
  const int64_t ow_n = g.out_w();
  for_each_band(g, x, nullptr, [&](const Band2x2& b) {
    alignas(64) float top[kBandFloats], bottom[kBandFloats];
    gather_band(g, b, top, bottom);
    float* yb = y + b.out_row * ow_n;
#pragma omp simd
    for (int64_t k = 0; k < b.rows * ow_n; ++k)  // the generic path's order and divisor
      yb[k] = (top[2 * k] + top[2 * k + 1] + bottom[2 * k] + bottom[2 * k + 1]) / 4.0f;
  });
}

void avgpool_backward_2x2(const Pool2dGeometry& g, const float* dy, float* dx) {
  const int64_t ow_n = g.out_w();
  for_each_band(g, nullptr, dx, [&](const Band2x2& b) {
    alignas(64) float top[kBandFloats], bottom[kBandFloats];
    const float* dyb = dy + b.out_row * ow_n;
#pragma omp simd
    for (int64_t k = 0; k < b.rows * ow_n; ++k) {
      const float share = dyb[k] / 4.0f;
      top[2 * k] = top[2 * k + 1] = bottom[2 * k] = bottom[2 * k + 1] = share;
    }
    scatter_band(g, b, top, bottom);
  });
}

}  // namespace

void maxpool2d_forward_cpu(const Pool2dGeometry& g, const float* x, float* y, uint8_t* argmax) {
  if (is_tiling_2x2(g)) return maxpool_forward_2x2(g, x, y, argmax);
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
  if (is_tiling_2x2(g)) return maxpool_backward_2x2(g, dy, argmax, dx);
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
  if (is_tiling_2x2(g)) return avgpool_forward_2x2(g, x, y);
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
  if (is_tiling_2x2(g)) return avgpool_backward_2x2(g, dy, dx);
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
  for (int64_t p = 0; p < n * c; ++p) y[p] = static_cast<float>(run_sum(x + p * s, s) / static_cast<double>(s));
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
