// Crop-and-resize of decoded photos to the network's input: PIL's bilinear resampling (a triangle
// filter whose support widens with the downscaling factor, so large reductions are antialiased, as
// torchvision's transforms on PIL images do), computed in float.
#pragma once
#include <cstdint>

#include "datasets/crop_geometry.h"
#include "datasets/jpeg.h"

namespace frugal {

// The source pixels [begin, end) along one axis that resampling [start, start + length) of an axis of
// `full` pixels to `out` samples reads. A decoder needs to produce only these.
struct PixelSpan {
  int64_t begin = 0, end = 0;
};
PixelSpan resample_span(double start, double length, int64_t out, int64_t full);

// Resamples `rect` (in pixels of the full image src.full_width x src.full_height, of which `src` holds a
// region that must cover the rect's spans) to out_height x out_width and writes [3, out_height,
// out_width] floats in [0, 1]; `flip` mirrors it left to right.
void resample_crop(const ImageRegion& src, const CropRect& rect, int64_t out_height, int64_t out_width, bool flip,
                   float* out);

}  // namespace frugal
