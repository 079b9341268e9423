// Geometry for photos of any size: bilinear resize of the shorter side, then a center crop.
#pragma once
#include <cstdint>

#include "datasets/jpeg.h"

namespace frugal {

// Resizes `image` so its shorter side is `short_side` (bilinear, pixel centers aligned as in
// PyTorch's align_corners=False), takes the centered crop x crop square and writes it to `out` as
// [3, crop, crop] floats in [0, 1]. Requires crop <= short_side.
void resize_center_crop(const RgbImage& image, int64_t short_side, int64_t crop, float* out);

}  // namespace frugal
