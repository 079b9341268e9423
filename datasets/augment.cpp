#include "datasets/augment.h"

#include <cstring>

namespace frugal {
namespace {

// Uniform integer in [0, bound) from 32 random bits (multiply-shift; bias below 2^-32 * bound).
int64_t below(uint32_t bits, int64_t bound) {
  return static_cast<int64_t>((uint64_t{bits} * static_cast<uint64_t>(bound)) >> 32);
}

}  // namespace

SampleAugment draw_sample_augment(const RngKey& epoch_key, int64_t position,
                                  const AugmentOptions& opts) {
  const auto words = philox4x32(epoch_key, static_cast<uint64_t>(position));
  SampleAugment aug;
  if (opts.crop_padding > 0) {
    aug.offset_y = below(words[0], 2 * opts.crop_padding + 1);
    aug.offset_x = below(words[1], 2 * opts.crop_padding + 1);
  }
  aug.flip = opts.horizontal_flip && (words[2] >> 31) != 0;
  return aug;
}

void apply_sample_augment(const SampleAugment& aug, const AugmentOptions& opts, const Shape& chw,
                          const float* src, float* dst) {
  const int64_t channels = chw[0], h = chw[1], w = chw[2];
  // Output (y, x) reads input (y + dy, x' + dx) with x' = x, or w - 1 - x when flipped.
  const int64_t dy = aug.offset_y - opts.crop_padding, dx = aug.offset_x - opts.crop_padding;
  for (int64_t c = 0; c < channels; ++c) {
    const float* in = src + c * h * w;
    float* out = dst + c * h * w;
    for (int64_t y = 0; y < h; ++y) {
      float* out_row = out + y * w;
      const int64_t sy = y + dy;
      if (sy < 0 || sy >= h) {
        std::memset(out_row, 0, sizeof(float) * static_cast<size_t>(w));
        continue;
      }
      const float* in_row = in + sy * w;
      for (int64_t x = 0; x < w; ++x) {
        const int64_t sx = (aug.flip ? w - 1 - x : x) + dx;
        out_row[x] = sx >= 0 && sx < w ? in_row[sx] : 0.0f;
      }
    }
  }
}

void normalize_channels(float* image, const Shape& chw, const float* mean, const float* std) {
  const int64_t plane = chw[1] * chw[2];
  for (int64_t c = 0; c < chw[0]; ++c) {
    const float m = mean[c], s = std[c];
    float* p = image + c * plane;
    for (int64_t i = 0; i < plane; ++i) p[i] = (p[i] - m) / s;
  }
}

}  // namespace frugal
