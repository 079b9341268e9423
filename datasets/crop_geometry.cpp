#include "datasets/crop_geometry.h"

#include <algorithm>
#include <cmath>

namespace frugal {
namespace {

// Python's round(): halves go to the even neighbour (the default floating-point rounding mode).
int64_t round_half_even(double v) { return static_cast<int64_t>(std::nearbyint(v)); }

double uniform(RngSequence& rng, double lo, double hi) {
  return lo + (hi - lo) * (static_cast<double>(rng.next_u32()) / 4294967296.0);
}

}  // namespace

CropRect center_crop_rect(int64_t width, int64_t height, int64_t short_side, int64_t crop) {
  // Resized size, as torchvision's _compute_resized_output_size (the long side truncated).
  const bool wide = width > height;
  const int64_t short_in = wide ? height : width, long_in = wide ? width : height;
  const int64_t long_out =
      static_cast<int64_t>(static_cast<double>(short_side) * static_cast<double>(long_in) / short_in);
  const int64_t resized_w = wide ? long_out : short_side, resized_h = wide ? short_side : long_out;
  const int64_t left = round_half_even((resized_w - crop) / 2.0), top = round_half_even((resized_h - crop) / 2.0);
  const double sx = static_cast<double>(width) / resized_w, sy = static_cast<double>(height) / resized_h;
  return {left * sx, top * sy, crop * sx, crop * sy};
}

CropRect random_resized_crop_rect(int64_t width, int64_t height, const RandomResizedCropOptions& opts,
                                  RngSequence& rng) {
  const double area = static_cast<double>(width) * static_cast<double>(height);
  const double log_lo = std::log(opts.ratio_min), log_hi = std::log(opts.ratio_max);
  for (int attempt = 0; attempt < 10; ++attempt) {
    const double target = area * uniform(rng, opts.scale_min, opts.scale_max);
    const double ratio = std::exp(uniform(rng, log_lo, log_hi));
    const int64_t w = round_half_even(std::sqrt(target * ratio));
    const int64_t h = round_half_even(std::sqrt(target / ratio));
    if (w > 0 && w <= width && h > 0 && h <= height) {
      const int64_t top = rng.next_below(static_cast<uint32_t>(height - h + 1));
      const int64_t left = rng.next_below(static_cast<uint32_t>(width - w + 1));
      return {static_cast<double>(left), static_cast<double>(top), static_cast<double>(w), static_cast<double>(h)};
    }
  }
  const double in_ratio = static_cast<double>(width) / static_cast<double>(height);
  int64_t w = width, h = height;
  if (in_ratio < opts.ratio_min)
    h = round_half_even(static_cast<double>(w) / opts.ratio_min);
  else if (in_ratio > opts.ratio_max)
    w = round_half_even(static_cast<double>(h) * opts.ratio_max);
  return {static_cast<double>((width - w) / 2), static_cast<double>((height - h) / 2), static_cast<double>(w),
          static_cast<double>(h)};
}

int dct_scale_for(const CropRect& rect, int64_t out_width, int64_t out_height) {
  int eighths = 1;
  while (eighths < 8 && (rect.width * eighths / 8 < static_cast<double>(out_width) ||
                         rect.height * eighths / 8 < static_cast<double>(out_height)))
    eighths *= 2;
  return eighths;
}

}  // namespace frugal
