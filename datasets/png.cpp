#include "datasets/png.h"

#include <png.h>

#include <cstring>
#include <vector>

#include "core/error.h"

namespace frugal {
namespace {

// Reads the header into `image` (which then owns libpng state until finished or freed).
void begin(const uint8_t* data, size_t size, const std::string& name, png_image* image) {
  std::memset(image, 0, sizeof *image);
  image->version = PNG_IMAGE_VERSION;
  if (!png_image_begin_read_from_memory(image, data, size))
    throw DataError("cannot decode PNG " + name + ": " + image->message);
  // The whole image is allocated before its data is read, so a header is believed only so far.
  if (uint64_t{image->width} * image->height > kMaxJpegPixels) {
    const std::string size_text = std::to_string(image->width) + " x " + std::to_string(image->height);
    png_image_free(image);
    throw DataError("cannot decode PNG " + name + ": " + size_text + " pixels, more than the " +
                    std::to_string(kMaxJpegPixels) + " (2^27) frugal decodes");
  }
}

}  // namespace

bool is_png(const uint8_t* data, size_t size) {
  static const uint8_t signature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  return size >= 8 && std::memcmp(data, signature, 8) == 0;
}

void png_dimensions(const uint8_t* data, size_t size, const std::string& name, int64_t* width, int64_t* height) {
  png_image image;
  begin(data, size, name, &image);
  *width = image.width;
  *height = image.height;
  png_image_free(&image);
}

void decode_png(const uint8_t* data, size_t size, const std::string& name, RgbImage* out) {
  png_image image;
  begin(data, size, name, &image);
  image.format = PNG_FORMAT_RGBA;
  thread_local std::vector<uint8_t> rgba;
  rgba.resize(PNG_IMAGE_SIZE(image));
  if (!png_image_finish_read(&image, nullptr, rgba.data(), 0, nullptr)) {
    const std::string why = image.message;
    png_image_free(&image);
    throw DataError("cannot decode PNG " + name + ": " + why);
  }
  out->width = image.width;
  out->height = image.height;
  const size_t pixels = static_cast<size_t>(out->width * out->height);
  out->pixels.resize(pixels * 3);
  for (size_t i = 0; i < pixels; ++i)
    for (int c = 0; c < 3; ++c) out->pixels[3 * i + c] = rgba[4 * i + c];
}

}  // namespace frugal
