// JPEG decoding with libjpeg, always to 8-bit RGB (grayscale is replicated, CMYK converted).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace frugal {

struct RgbImage {
  int64_t height = 0, width = 0;
  std::vector<uint8_t> pixels;  // height * width * 3, HWC
};

// The most pixels a JPEG may have (e.g. 16384 x 8192): decoding one takes memory in proportion to its
// size before any of its data is read, so a larger (or a corrupt) header is refused up front.
constexpr uint64_t kMaxJpegPixels = uint64_t{1} << 27;

// Decodes the JPEG at `path`. When min_side > 0, libjpeg's DCT scaling (1/2, 1/4, 1/8) shrinks the
// image while its shorter side stays >= min_side, which makes large photos much cheaper to decode.
// DataError naming the file when it is missing, not a decodable JPEG, larger than kMaxJpegPixels, or
// when its image data ends early (truncated file).
RgbImage decode_jpeg_file(const std::string& path, int64_t min_side = 0);

// Same, from bytes in memory; `name` is used in error messages.
RgbImage decode_jpeg(const uint8_t* data, size_t size, const std::string& name,
                     int64_t min_side = 0);

}  // namespace frugal
