#include "datasets/photo_crop.h"

#include "core/error.h"
#include "datasets/jpeg.h"
#include "datasets/png.h"
#include "datasets/resize.h"

namespace frugal {

void decode_photo_crop(const uint8_t* bytes, size_t size, const std::string& name, const CropChooser& choose,
                       int64_t side, float* out) {
  thread_local ImageRegion region;
  if (is_png(bytes, size)) {
    decode_png(bytes, size, name, &region.image);
    region.x0 = region.y0 = 0;
    region.full_width = region.image.width;
    region.full_height = region.image.height;
    resample_crop(region, choose(region.full_width, region.full_height), side, side, false, out);
    return;
  }
  int64_t width = 0, height = 0;
  jpeg_dimensions(bytes, size, name, &width, &height);
  const CropRect rect = choose(width, height);
  // Decode at the smallest DCT scale that keeps the crop at least `side` pixels, only the pixels the
  // resampling reads, and resample in the scaled image's coordinates.
  const int eighths = dct_scale_for(rect, side, side);
  const int64_t scaled_w = jpeg_scaled_side(width, eighths), scaled_h = jpeg_scaled_side(height, eighths);
  const double sx = static_cast<double>(scaled_w) / width, sy = static_cast<double>(scaled_h) / height;
  const CropRect scaled{rect.left * sx, rect.top * sy, rect.width * sx, rect.height * sy};
  const PixelSpan cols = resample_span(scaled.left, scaled.width, side, scaled_w);
  const PixelSpan rows = resample_span(scaled.top, scaled.height, side, scaled_h);
  decode_jpeg_region(bytes, size, name, eighths, {cols.begin, rows.begin, cols.end, rows.end}, &region);
  if (region.full_width != scaled_w || region.full_height != scaled_h)
    throw InternalError("JPEG " + name + " decoded at " + std::to_string(eighths) + "/8 to " +
                        std::to_string(region.full_width) + "x" + std::to_string(region.full_height) + ", expected " +
                        std::to_string(scaled_w) + "x" + std::to_string(scaled_h));
  resample_crop(region, scaled, side, side, false, out);
}

}  // namespace frugal
