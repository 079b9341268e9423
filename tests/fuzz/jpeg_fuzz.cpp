// Fuzz target: decoding a photo as an image folder does (datasets/photo_crop.h). The input is a flags
// byte, then the file (JPEG or PNG). The flags pick the crop size (bits 0-4: 1..32 pixels) and where to
// cut: bit 7 a random resized crop keyed by bits 5-6 (the region decode at a DCT scale from the crop),
// otherwise the evaluation view's Resize + CenterCrop. Bit 7 also decodes the whole JPEG at full size
// afterwards, as `frugal data info` does.
#include <vector>

#include "datasets/jpeg.h"
#include "datasets/photo_crop.h"
#include "tests/fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace frugal::fuzz;
  Parts parts(data, size);
  const uint8_t flags = parts.flags();
  const std::string file = parts.next();
  const auto* bytes = reinterpret_cast<const uint8_t*>(file.data());
  const int64_t crop = 1 + (flags & 31), resize_side = crop * 8 / 7;
  const bool random_crop = (flags & 128) != 0;
  std::vector<float> out(static_cast<size_t>(3 * crop * crop));
  run_input([&] {
    frugal::decode_photo_crop(bytes, file.size(), "input", [&](int64_t w, int64_t h) {
      if (!random_crop) return frugal::center_crop_rect(w, h, resize_side, crop);
      frugal::RngSequence rng(frugal::RngKey{static_cast<uint64_t>((flags >> 5) & 3), 0, 0});
      return frugal::random_resized_crop_rect(w, h, frugal::RandomResizedCropOptions{}, rng);
    }, crop, out.data());
  });
  if (!random_crop) return 0;
  return run_input([&] { frugal::decode_jpeg(bytes, file.size(), "input"); });
}
