#include "datasets/resize.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/error.h"

namespace frugal {
namespace {

// One output sample's taps: source pixels [first, first + weights.size()) with normalised weights.
struct Taps {
  std::vector<int64_t> first;
  std::vector<int64_t> count;
  std::vector<float> weights;  // max_count per output sample
  int64_t max_count = 0;
};

// PIL's precompute_coeffs for the bilinear (triangle, support 1) filter: sample i is centred at
// start + (i + 0.5) * scale; when shrinking the filter stretches by the scale factor.
void compute_taps(double start, double length, int64_t out, int64_t full, Taps* taps) {
  const double scale = length / static_cast<double>(out);
  const double filter_scale = std::max(scale, 1.0);
  const double support = filter_scale;  // triangle support 1, stretched
  taps->max_count = static_cast<int64_t>(std::ceil(support)) * 2 + 1;
  taps->first.assign(static_cast<size_t>(out), 0);
  taps->count.assign(static_cast<size_t>(out), 0);
  taps->weights.assign(static_cast<size_t>(out * taps->max_count), 0.0f);
  for (int64_t i = 0; i < out; ++i) {
    const double center = start + (static_cast<double>(i) + 0.5) * scale;
    const int64_t lo = std::max<int64_t>(0, static_cast<int64_t>(center - support + 0.5));
    const int64_t hi = std::min<int64_t>(full, static_cast<int64_t>(center + support + 0.5));
    const int64_t n = std::min<int64_t>(std::max<int64_t>(hi - lo, 0), taps->max_count);
    float* w = taps->weights.data() + i * taps->max_count;
    double total = 0;
    for (int64_t k = 0; k < n; ++k) {
      const double d = std::fabs((static_cast<double>(lo + k) - center + 0.5) / filter_scale);
      total += d < 1.0 ? 1.0 - d : 0.0;
    }
    for (int64_t k = 0; k < n; ++k) {
      const double d = std::fabs((static_cast<double>(lo + k) - center + 0.5) / filter_scale);
      w[k] = static_cast<float>(total > 0 && d < 1.0 ? (1.0 - d) / total : 0.0);
    }
    taps->first[static_cast<size_t>(i)] = lo;
    taps->count[static_cast<size_t>(i)] = n;
  }
}

PixelSpan span_of(const Taps& taps, int64_t full) {
  PixelSpan span{full, 0};
  for (size_t i = 0; i < taps.first.size(); ++i) {
    if (taps.count[i] == 0) continue;
    span.begin = std::min(span.begin, taps.first[i]);
    span.end = std::max(span.end, taps.first[i] + taps.count[i]);
  }
  if (span.end <= span.begin) span = {0, std::min<int64_t>(full, 1)};
  return span;
}

}  // namespace

PixelSpan resample_span(double start, double length, int64_t out, int64_t full) {
  Taps taps;
  compute_taps(start, length, out, full, &taps);
  return span_of(taps, full);
}

void resample_crop(const ImageRegion& src, const CropRect& rect, int64_t out_height, int64_t out_width, bool flip,
                   float* out) {
  if (out_height <= 0 || out_width <= 0 || !(rect.width > 0) || !(rect.height > 0))
    throw InternalError("resample_crop: output " + std::to_string(out_height) + "x" + std::to_string(out_width) +
                        " from a " + std::to_string(rect.width) + "x" + std::to_string(rect.height) + " rectangle");
  thread_local Taps xs, ys;
  thread_local std::vector<float> rows;  // horizontal pass: [source row][out_width][3]
  compute_taps(rect.left, rect.width, out_width, src.full_width, &xs);
  compute_taps(rect.top, rect.height, out_height, src.full_height, &ys);
  const PixelSpan row_span = span_of(ys, src.full_height);
  const PixelSpan col_span = span_of(xs, src.full_width);
  const RgbImage& img = src.image;
  if (row_span.begin < src.y0 || row_span.end > src.y0 + img.height || col_span.begin < src.x0 ||
      col_span.end > src.x0 + img.width)
    throw InternalError("resample_crop: the decoded region does not cover the pixels the crop reads");

  const int64_t n_rows = row_span.end - row_span.begin;
  rows.resize(static_cast<size_t>(n_rows * out_width * 3));
  for (int64_t r = 0; r < n_rows; ++r) {
    const uint8_t* line = img.pixels.data() + ((row_span.begin + r - src.y0) * img.width - src.x0) * 3;
    float* dst = rows.data() + r * out_width * 3;
    for (int64_t x = 0; x < out_width; ++x) {
      const float* w = xs.weights.data() + x * xs.max_count;
      const uint8_t* p = line + xs.first[static_cast<size_t>(x)] * 3;
      float acc[3] = {0, 0, 0};
      for (int64_t k = 0; k < xs.count[static_cast<size_t>(x)]; ++k)
        for (int c = 0; c < 3; ++c) acc[c] += w[k] * p[3 * k + c];
      for (int c = 0; c < 3; ++c) dst[3 * x + c] = acc[c];
    }
  }
  const int64_t plane = out_height * out_width;
  for (int64_t y = 0; y < out_height; ++y) {
    const float* w = ys.weights.data() + y * ys.max_count;
    const int64_t first = ys.first[static_cast<size_t>(y)] - row_span.begin;
    for (int64_t x = 0; x < out_width; ++x) {
      float acc[3] = {0, 0, 0};
      for (int64_t k = 0; k < ys.count[static_cast<size_t>(y)]; ++k) {
        const float* p = rows.data() + ((first + k) * out_width + x) * 3;
        for (int c = 0; c < 3; ++c) acc[c] += w[k] * p[c];
      }
      const int64_t ox = flip ? out_width - 1 - x : x;
      for (int c = 0; c < 3; ++c) out[c * plane + y * out_width + ox] = acc[c] * (1.0f / 255.0f);
    }
  }
}

}  // namespace frugal
