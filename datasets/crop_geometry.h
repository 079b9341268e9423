// Where a photo is cut before it is resized to the network's input, in torchvision's geometry:
// evaluation is Resize(short_side) + CenterCrop(crop); training is RandomResizedCrop(scale, ratio).
// Rectangles are in pixels of the original image (fractional for the centre crop).
#pragma once
#include <cstdint>

#include "core/rng.h"

namespace frugal {

struct CropRect {
  double left = 0, top = 0, width = 0, height = 0;
};

// torchvision's Resize(short_side) (shorter side to short_side, longer to int(short_side * long /
// short)) then CenterCrop(crop) (offsets round((resized - crop) / 2), halves to even), expressed as the
// rectangle of the original image that ends up in the crop.
CropRect center_crop_rect(int64_t width, int64_t height, int64_t short_side, int64_t crop);

struct RandomResizedCropOptions {
  double scale_min = 0.08, scale_max = 1.0;             // fraction of the image's area
  double ratio_min = 3.0 / 4.0, ratio_max = 4.0 / 3.0;  // width / height
};

// torchvision's RandomResizedCrop.get_params: up to 10 tries of an area fraction uniform in
// [scale_min, scale_max) and an aspect ratio log-uniform in [ratio_min, ratio_max), side lengths
// rounded; the first that fits gets a uniform position. Otherwise the centred crop of the whole image
// clamped to the ratio range. Integer pixel rectangles; the draws come from `rng` only.
CropRect random_resized_crop_rect(int64_t width, int64_t height, const RandomResizedCropOptions& opts,
                                  RngSequence& rng);

// The DCT scale, in eighths (8, 4, 2 or 1), at which a JPEG can be decoded so that `rect` still covers
// at least out_width x out_height pixels: the resize that follows then never upsamples what a full
// decode would have downsampled.
int dct_scale_for(const CropRect& rect, int64_t out_width, int64_t out_height);

}  // namespace frugal
