// Fuzz target: JPEG decoding and what an image folder does with the result. The input is a flags byte,
// then the JPEG. The flags pick the crop size (bits 0-4: 1..32 pixels); the image is decoded with
// libjpeg's DCT scaling towards the resize side (bit 7: at full size, as `frugal data info` does), then
// resized and center-cropped as ImageFolderDataset::get does.
#include <vector>

#include "datasets/jpeg.h"
#include "datasets/resize.h"
#include "tests/fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace frugal::fuzz;
  Parts parts(data, size);
  const uint8_t flags = parts.flags();
  const std::string jpeg = parts.next();
  const int64_t crop = 1 + (flags & 31), resize_side = crop * 8 / 7;
  return run_input([&] {
    const frugal::RgbImage image = frugal::decode_jpeg(reinterpret_cast<const uint8_t*>(jpeg.data()), jpeg.size(),
                                                       "input", (flags & 128) ? 0 : resize_side);
    std::vector<float> out(static_cast<size_t>(3 * crop * crop));
    frugal::resize_center_crop(image, resize_side, crop, out.data());
  });
}
