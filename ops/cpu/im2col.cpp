#include "ops/cpu/im2col.h"

#include <algorithm>
#include <cstring>

namespace frugal {

namespace {

// ceil(a / b) for b > 0 and any sign of a.
int64_t ceil_div(int64_t a, int64_t b) { return a >= 0 ? (a + b - 1) / b : -((-a) / b); }

// The output columns [begin, end) whose input column ow*stride + offset lies inside [0, width).
struct ValidRange {
  int64_t begin, end;
};

ValidRange valid_outputs(int64_t offset, int64_t stride, int64_t width, int64_t out_width) {
  const int64_t begin = std::min(out_width, std::max<int64_t>(0, ceil_div(-offset, stride)));
  const int64_t end = std::max(begin, std::min(out_width, ceil_div(width - offset, stride)));
  return {begin, end};
}

// One tap's row of columns, col[(c, kh, kw), band], for a conv with unit strides whose output is as wide
// as its input (a "same" conv, e.g. 3x3 with padding 1). Output row oh then reads input row oh +
// h_offset shifted by w_offset, so the whole band is one contiguous copy of the input plane; the few
// entries that wrapped into a neighbouring row (or past the plane's ends) are the padding taps, zeroed
// afterwards. Small images would otherwise pay a memcpy call per output row.
void copy_same_width_tap(const Conv2dGeometry& g, const float* x_plane, OutputRows rows,
                         int64_t h_offset, int64_t w_offset, ValidRange cols, float* out) {
  const int64_t width = g.in_w, band = rows.count() * width;
  if (cols.begin >= cols.end) {  // this tap only ever reads padding
    std::memset(out, 0, sizeof(float) * band);
    return;
  }
  // Output rows [inside_begin, inside_end) read input rows inside the image.
  const int64_t inside_begin = std::clamp(-h_offset, rows.begin, rows.end);
  const int64_t inside_end = std::clamp(g.in_h - h_offset, inside_begin, rows.end);
  float* inside = out + (inside_begin - rows.begin) * width;
  float* below = out + (inside_end - rows.begin) * width;
  std::fill(out, inside, 0.0f);  // output rows above the image
  std::fill(below, out + band, 0.0f);

  const int64_t count = (inside_end - inside_begin) * width;
  const int64_t source = (inside_begin + h_offset) * width + w_offset;  // plane index of inside[0]
  const int64_t skip_front = std::max<int64_t>(0, -source);
  const int64_t skip_back = std::max<int64_t>(0, source + count - g.in_h * width);
  if (count > skip_front + skip_back)
    std::memcpy(inside + skip_front, x_plane + source + skip_front,
                sizeof(float) * (count - skip_front - skip_back));
  for (float* row = inside; row < below; row += width) {
    for (int64_t ow = 0; ow < cols.begin; ++ow) row[ow] = 0.0f;
    for (int64_t ow = cols.end; ow < width; ++ow) row[ow] = 0.0f;
  }
}

}  // namespace

void im2col_cpu(const Conv2dGeometry& g, const float* x, int64_t channels, OutputRows rows,
                float* col, int64_t col_stride) {
  const int64_t out_w = g.out_w();
  const int64_t plane = g.in_h * g.in_w;
  const int64_t row_stride = col_stride > 0 ? col_stride : rows.count() * out_w;
  const bool same_width = g.stride_h == 1 && g.stride_w == 1 && out_w == g.in_w;
  for (int64_t c = 0; c < channels; ++c) {
    const float* x_plane = x + c * plane;
    for (int64_t kh = 0; kh < g.kernel_h; ++kh) {
      for (int64_t kw = 0; kw < g.kernel_w; ++kw) {
        float* row = col + ((c * g.kernel_h + kh) * g.kernel_w + kw) * row_stride;
        const int64_t w_offset = kw * g.dilation_w - g.pad_w;
        const ValidRange cols = valid_outputs(w_offset, g.stride_w, g.in_w, out_w);
        if (same_width) {
          copy_same_width_tap(g, x_plane, rows, kh * g.dilation_h - g.pad_h, w_offset, cols, row);
          continue;
        }
        for (int64_t oh = rows.begin; oh < rows.end; ++oh) {
          float* out = row + (oh - rows.begin) * out_w;
          const int64_t ih = oh * g.stride_h - g.pad_h + kh * g.dilation_h;
          if (ih < 0 || ih >= g.in_h) {
            std::memset(out, 0, sizeof(float) * out_w);
            continue;
          }
          const float* in = x_plane + ih * g.in_w;  // output column ow reads in[ow*stride_w + w_offset]
          std::fill(out, out + cols.begin, 0.0f);
          if (g.stride_w == 1) {
            std::memcpy(out + cols.begin, in + cols.begin + w_offset,
                        sizeof(float) * (cols.end - cols.begin));
          } else {
            for (int64_t ow = cols.begin; ow < cols.end; ++ow) out[ow] = in[ow * g.stride_w + w_offset];
          }
          std::fill(out + cols.end, out + out_w, 0.0f);
        }
      }
    }
  }
}

void col2im_add_cpu(const Conv2dGeometry& g, const float* col, int64_t channels, OutputRows rows,
                    float* dx, int64_t col_stride) {
  const int64_t out_w = g.out_w();
  const int64_t plane = g.in_h * g.in_w;
  const int64_t row_stride = col_stride > 0 ? col_stride : rows.count() * out_w;
  for (int64_t c = 0; c < channels; ++c) {
    float* dx_plane = dx + c * plane;
    for (int64_t kh = 0; kh < g.kernel_h; ++kh) {
      for (int64_t kw = 0; kw < g.kernel_w; ++kw) {
        const float* row = col + ((c * g.kernel_h + kh) * g.kernel_w + kw) * row_stride;
        const int64_t w_offset = kw * g.dilation_w - g.pad_w;
        const ValidRange cols = valid_outputs(w_offset, g.stride_w, g.in_w, out_w);
        for (int64_t oh = rows.begin; oh < rows.end; ++oh) {
          const int64_t ih = oh * g.stride_h - g.pad_h + kh * g.dilation_h;
          if (ih < 0 || ih >= g.in_h) continue;
          const float* in = row + (oh - rows.begin) * out_w;
          float* out = dx_plane + ih * g.in_w;  // output column ow feeds out[ow*stride_w + w_offset]
          if (g.stride_w == 1) {
            float* shifted = out + cols.begin + w_offset;
            const float* src = in + cols.begin;
            for (int64_t i = 0; i < cols.end - cols.begin; ++i) shifted[i] += src[i];
          } else {
            for (int64_t ow = cols.begin; ow < cols.end; ++ow) out[ow * g.stride_w + w_offset] += in[ow];
          }
        }
      }
    }
  }
}

}  // namespace frugal
