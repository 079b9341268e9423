// JPEG decoding with libjpeg-turbo, always to 8-bit RGB (grayscale is replicated, CMYK/YCCK
// converted; baseline and progressive alike).
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace frugal {

struct RgbImage {
  int64_t height = 0, width = 0;
  std::vector<uint8_t> pixels;  // height * width * 3, HWC
};

// A rectangle of pixels [x0, x1) x [y0, y1).
struct PixelBox {
  int64_t x0 = 0, y0 = 0, x1 = 0, y1 = 0;
};

// The most pixels a JPEG may have (e.g. 16384 x 8192): decoding one takes memory in proportion to its
// size before any of its data is read, so a larger (or a corrupt) header is refused up front.
constexpr uint64_t kMaxJpegPixels = uint64_t{1} << 27;

// Part of an image decoded at some scale: `image` holds the pixels of columns [x0, x0 + image.width)
// and rows [y0, y0 + image.height) of the whole image as it is at that scale (full_width x full_height).
struct ImageRegion {
  RgbImage image;
  int64_t x0 = 0, y0 = 0;
  int64_t full_width = 0, full_height = 0;
};

// Width and height from the header alone. DataError naming `name` when it is not a readable JPEG or
// has more than kMaxJpegPixels.
void jpeg_dimensions(const uint8_t* data, size_t size, const std::string& name, int64_t* width,
                     int64_t* height);

// libjpeg-turbo's DCT-domain scaling: the image decodes at scale_eighths/8 (1..8) of its size, each
// side rounded up (ceil(width * scale_eighths / 8)), for a fraction of the work of a full decode.
int64_t jpeg_scaled_side(int64_t side, int scale_eighths);

// Decodes only `box` (in pixels of the scaled image, clipped to it) at scale_eighths/8: rows outside
// are skipped (jpeg_skip_scanlines) and columns cropped (jpeg_crop_scanline). `out` holds the box and
// up to two iMCUs more on each side (the box's pixels then equal a full decode's); its buffers are reused.
// DataError naming `name` on a corrupt or truncated file.
void decode_jpeg_region(const uint8_t* data, size_t size, const std::string& name, int scale_eighths,
                        const PixelBox& box, ImageRegion* out);

// The whole image. When min_side > 0, DCT scaling (1/2, 1/4, 1/8) shrinks it while its shorter side
// stays >= min_side. DataError naming the file when it is missing, not a decodable JPEG, larger than
// kMaxJpegPixels, or when its image data ends early (truncated file).
RgbImage decode_jpeg_file(const std::string& path, int64_t min_side = 0);
RgbImage decode_jpeg(const uint8_t* data, size_t size, const std::string& name, int64_t min_side = 0);

}  // namespace frugal
