#include "datasets/resize.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/error.h"

namespace frugal {
namespace {

// For each output coordinate: the two source coordinates and the weight of the second.
struct Tap {
  int64_t lo, hi;
  float w;
};

// Output positions [offset, offset + count) of an axis resized from `src` to `dst` samples.
std::vector<Tap> bilinear_taps(int64_t src, int64_t dst, int64_t offset, int64_t count) {
  std::vector<Tap> taps(static_cast<size_t>(count));
  const double scale = static_cast<double>(src) / static_cast<double>(dst);
  for (int64_t i = 0; i < count; ++i) {
    double pos = (static_cast<double>(i + offset) + 0.5) * scale - 0.5;
    pos = std::clamp(pos, 0.0, static_cast<double>(src - 1));
    const int64_t lo = static_cast<int64_t>(pos);
    taps[static_cast<size_t>(i)] = {lo, std::min(lo + 1, src - 1), static_cast<float>(pos - lo)};
  }
  return taps;
}

}  // namespace

void resize_center_crop(const RgbImage& image, int64_t short_side, int64_t crop, float* out) {
  const int64_t h = image.height, w = image.width;
  if (h <= 0 || w <= 0 || crop <= 0 || crop > short_side)
    throw InternalError("resize_center_crop: image " + std::to_string(h) + "x" + std::to_string(w) +
                        ", short side " + std::to_string(short_side) + ", crop " +
                        std::to_string(crop));
  // Size after resizing, keeping the aspect ratio (rounded).
  const int64_t rh =
      h <= w ? short_side : std::max<int64_t>(crop, std::llround(double(h) * short_side / w));
  const int64_t rw =
      w < h ? short_side : std::max<int64_t>(crop, std::llround(double(w) * short_side / h));
  const std::vector<Tap> ys = bilinear_taps(h, rh, (rh - crop) / 2, crop);
  const std::vector<Tap> xs = bilinear_taps(w, rw, (rw - crop) / 2, crop);
  const uint8_t* px = image.pixels.data();
  const int64_t plane = crop * crop;
  for (int64_t y = 0; y < crop; ++y) {
    const Tap& ty = ys[static_cast<size_t>(y)];
    const uint8_t* row0 = px + ty.lo * w * 3;
    const uint8_t* row1 = px + ty.hi * w * 3;
    for (int64_t x = 0; x < crop; ++x) {
      const Tap& tx = xs[static_cast<size_t>(x)];
      for (int c = 0; c < 3; ++c) {
        const float top = row0[tx.lo * 3 + c] + tx.w * (row0[tx.hi * 3 + c] - row0[tx.lo * 3 + c]);
        const float bottom =
            row1[tx.lo * 3 + c] + tx.w * (row1[tx.hi * 3 + c] - row1[tx.lo * 3 + c]);
        out[c * plane + y * crop + x] = (top + ty.w * (bottom - top)) / 255.0f;
      }
    }
  }
}

}  // namespace frugal
