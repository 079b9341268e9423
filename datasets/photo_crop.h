// One photo's bytes to one network input: the format is read from the first bytes (JPEG or PNG), the
// crop is chosen from the image's size, and only what the crop needs is decoded (JPEGs at the smallest
// sufficient DCT scale, only the rows and columns the resampling reads) before PIL-style resampling.
#pragma once
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>

#include "datasets/crop_geometry.h"

namespace frugal {

// Where to cut a width x height photo (in its own pixels).
using CropChooser = std::function<CropRect(int64_t width, int64_t height)>;

// Decodes the photo in `bytes` (`name` for errors), cuts choose(width, height) and resamples it to
// [3, side, side] floats in [0, 1] at `out`. Decoder buffers are per thread and reused.
// DataError naming `name` when the bytes are not a decodable JPEG or PNG.
void decode_photo_crop(const uint8_t* bytes, size_t size, const std::string& name, const CropChooser& choose,
                       int64_t side, float* out);

}  // namespace frugal
