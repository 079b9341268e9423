// PNG decoding with libpng's simplified API (Debian's libpng-dev), to 8-bit RGB: palette, grayscale
// and 16-bit images are converted, an alpha channel is dropped (as PIL's convert("RGB") does).
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

#include "datasets/jpeg.h"

namespace frugal {

bool is_png(const uint8_t* data, size_t size);  // the 8-byte PNG signature

// Width and height from the header. DataError naming `name` when it is not a readable PNG or has more
// than kMaxJpegPixels (the same limit as JPEGs).
void png_dimensions(const uint8_t* data, size_t size, const std::string& name, int64_t* width, int64_t* height);

// The whole image into `out` (PNG has no cheaper partial decode); buffers are reused.
void decode_png(const uint8_t* data, size_t size, const std::string& name, RgbImage* out);

}  // namespace frugal
