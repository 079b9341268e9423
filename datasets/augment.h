// Per-sample augmentation for training batches: random crop with zero padding and horizontal flip,
// then per-channel normalisation. The random choices for a sample depend only on
// (seed, epoch, position of the sample in the epoch), never on threads or batch boundaries.
#pragma once
#include <cstdint>

#include "core/rng.h"
#include "core/shape.h"
#include "datasets/crop_geometry.h"

namespace frugal {

struct AugmentOptions {
  int64_t crop_padding = 0;  // pixels of zero padding on each side before the random crop
  bool horizontal_flip = false;
  // torchvision's RandomResizedCrop, cut by the dataset from the original photo (image_folder only),
  // before the flip.
  bool random_resized_crop = false;
  RandomResizedCropOptions crop = {};
  // Whether the sample's pixels move after the dataset wrote them (padding crop or flip).
  bool enabled() const { return crop_padding > 0 || horizontal_flip; }
};

// The random choices for one sample: the crop window starts at (offset_y, offset_x) in the padded
// image, each uniform in [0, 2 * padding]; flip with probability 0.5.
struct SampleAugment {
  int64_t offset_y = 0, offset_x = 0;
  bool flip = false;
};

// Key for an epoch's augmentation draws: (seed, RngStream::Augment, epoch).
inline RngKey augment_key(uint64_t seed, int64_t epoch) {
  return rng_key(seed, RngStream::Augment, static_cast<uint64_t>(epoch));
}

// Key of one sample's random resized crop: (seed, RngStream::Crop, epoch << 32 | dataset index), so
// the crop of a sample depends on the epoch and the sample, not on its position or the thread.
inline RngKey crop_key(uint64_t seed, int64_t epoch, int64_t index) {
  return rng_key(seed, RngStream::Crop, (static_cast<uint64_t>(epoch) << 32) | static_cast<uint32_t>(index));
}

// One Philox block per sample: word 0 and 1 pick the crop offsets, word 2 the flip.
SampleAugment draw_sample_augment(const RngKey& epoch_key, int64_t position,
                                  const AugmentOptions& opts);

// dst = flip(crop(pad(src))) for a [C, H, W] image; the output has the input's size. src != dst.
void apply_sample_augment(const SampleAugment& aug, const AugmentOptions& opts, const Shape& chw,
                          const float* src, float* dst);

// image[c] = (image[c] - mean[c]) / std[c] over each channel plane of a [C, H, W] image.
void normalize_channels(float* image, const Shape& chw, const float* mean, const float* std);

}  // namespace frugal
