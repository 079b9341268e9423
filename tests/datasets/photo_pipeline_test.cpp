// The photo path of image folders: crop geometry (torchvision's), PIL-style resampling, JPEG region
// and DCT-scaled decoding, grey/CMYK/progressive JPEGs, PNGs, corrupt files, and the loader's
// random resized crops.
#include <gtest/gtest.h>

#include <zlib.h>

#include <cmath>

#include "core/error.h"
#include "datasets/crop_geometry.h"
#include "datasets/file_bytes.h"
#include "datasets/image_folder.h"
#include "datasets/jpeg.h"
#include "datasets/loader.h"
#include "datasets/png.h"
#include "datasets/resize.h"
#include "tests/datasets/test_files.h"

namespace frugal {
namespace {

using testing::Bytes;
using testing::TempDir;

constexpr float kJpegTolerance = 4.0f / 255.0f;  // solid colours survive JPEG within a few levels

// Red rises left to right, green top to bottom, blue constant: every pixel differs from its neighbours.
Bytes gradient(int width, int height) {
  Bytes px;
  for (int y = 0; y < height; ++y)
    for (int x = 0; x < width; ++x)
      px.insert(px.end(), {uint8_t(x * 255 / std::max(width - 1, 1)), uint8_t(y * 255 / std::max(height - 1, 1)), 90});
  return px;
}

ImageRegion whole(const RgbImage& image) {
  ImageRegion r;
  r.image = image;
  r.full_width = image.width;
  r.full_height = image.height;
  return r;
}

DatasetOptions folder_at(const std::string& dir, int64_t image_size, bool skip_corrupt = false) {
  DatasetOptions opts;
  opts.dataset = "image_folder";
  opts.path = dir;
  opts.image_size = image_size;
  opts.skip_corrupt = skip_corrupt;
  return opts;
}

void expect_solid(const std::vector<float>& image, float r, float g, float b, float tolerance) {
  const size_t plane = image.size() / 3;
  const float rgb[3] = {r, g, b};
  for (int c = 0; c < 3; ++c)
    for (size_t i = 0; i < plane; ++i) ASSERT_NEAR(image[c * plane + i], rgb[c], tolerance) << "channel " << c;
}

// --- crop geometry ---------------------------------------------------------------------------------

TEST(CropGeometry, CenterCropIsTorchvisionResizeThenCenterCrop) {
  // 500x375 -> Resize(256) -> 341x256 (341.33 truncated); CenterCrop(224) at left round(58.5) = 58, top 16.
  CropRect r = center_crop_rect(500, 375, 256, 224);
  EXPECT_DOUBLE_EQ(r.left, 58 * 500.0 / 341);
  EXPECT_DOUBLE_EQ(r.top, 16 * 375.0 / 256);
  EXPECT_DOUBLE_EQ(r.width, 224 * 500.0 / 341);
  EXPECT_DOUBLE_EQ(r.height, 224 * 375.0 / 256);
  CropRect tall = center_crop_rect(375, 500, 256, 224);  // the transpose
  EXPECT_DOUBLE_EQ(tall.left, r.top);
  EXPECT_DOUBLE_EQ(tall.top, r.left);
  // Python's round() takes halves to even: (257 - 224) / 2 = 16.5 -> 16.
  EXPECT_DOUBLE_EQ(center_crop_rect(300, 300, 257, 224).left, 16 * 300.0 / 257);
}

TEST(CropGeometry, RandomResizedCropIsInsideTheImageAndAFunctionOfTheKey) {
  RandomResizedCropOptions opts;
  int differ = 0;
  for (uint64_t i = 0; i < 500; ++i) {
    RngSequence a(rng_key(7, RngStream::Crop, i)), b(rng_key(7, RngStream::Crop, i)),
        c(rng_key(7, RngStream::Crop, i + 1000));
    const CropRect r = random_resized_crop_rect(500, 375, opts, a);
    const CropRect again = random_resized_crop_rect(500, 375, opts, b);
    const CropRect other = random_resized_crop_rect(500, 375, opts, c);
    EXPECT_EQ(r.left, again.left);
    EXPECT_EQ(r.width, again.width);
    EXPECT_EQ(r.height, again.height);
    differ += r.left != other.left || r.width != other.width;
    ASSERT_GE(r.left, 0);
    ASSERT_GE(r.top, 0);
    ASSERT_GT(r.width, 0);
    ASSERT_LE(r.left + r.width, 500);
    ASSERT_LE(r.top + r.height, 375);
    ASSERT_EQ(r.width, std::floor(r.width));
  }
  EXPECT_GT(differ, 450);
}

TEST(CropGeometry, RandomResizedCropOfTheWholeAreaAtTheImagesRatioIsTheImage) {
  RandomResizedCropOptions whole{1.0, 1.0, 4.0 / 3.0, 4.0 / 3.0};
  RngSequence rng(rng_key(1, RngStream::Crop, 0));
  const CropRect r = random_resized_crop_rect(400, 300, whole, rng);
  EXPECT_EQ(r.left, 0);
  EXPECT_EQ(r.top, 0);
  EXPECT_EQ(r.width, 400);
  EXPECT_EQ(r.height, 300);
}

TEST(CropGeometry, RandomResizedCropFallsBackToTheCentredCropClampedToTheRatio) {
  // A 1000x10 strip: no area of at least 8% fits with a ratio <= 4/3, so all 10 tries fail and the
  // fallback keeps the height and a width of round(10 * 4/3) = 13, centred.
  RngSequence rng(rng_key(1, RngStream::Crop, 0));
  const CropRect r = random_resized_crop_rect(1000, 10, RandomResizedCropOptions{}, rng);
  EXPECT_EQ(r.width, 13);
  EXPECT_EQ(r.height, 10);
  EXPECT_EQ(r.left, (1000 - 13) / 2);
  EXPECT_EQ(r.top, 0);
}

TEST(CropGeometry, DctScaleIsTheSmallestThatKeepsTheCropAtLeastTheOutputSize) {
  EXPECT_EQ(dct_scale_for({0, 0, 400, 300}, 32, 32), 1);    // 50 x 37.5 at 1/8
  EXPECT_EQ(dct_scale_for({0, 0, 400, 300}, 100, 100), 4);  // 1/4 gives 100 x 75
  EXPECT_EQ(dct_scale_for({0, 0, 224, 224}, 224, 224), 8);
  EXPECT_EQ(jpeg_scaled_side(375, 2), 94);  // ceil(375 / 4)
}

// --- resampling ------------------------------------------------------------------------------------

TEST(Resample, SameSizeCropCopiesThePixels) {
  RgbImage image{2, 6, {}};  // red = 10 * column, green = row
  for (int y = 0; y < 2; ++y)
    for (int x = 0; x < 6; ++x) image.pixels.insert(image.pixels.end(), {uint8_t(10 * x), uint8_t(y), 0});
  std::vector<float> out(3 * 2 * 2);
  resample_crop(whole(image), {2, 0, 2, 2}, 2, 2, false, out.data());
  EXPECT_FLOAT_EQ(out[0], 20 / 255.0f);
  EXPECT_FLOAT_EQ(out[1], 30 / 255.0f);
  EXPECT_FLOAT_EQ(out[4 + 2], 1 / 255.0f);  // green plane, row 1
}

TEST(Resample, UpsamplingUsesHalfPixelCenters) {
  // [0, 255] upsampled 2x: samples at 0.75 and 1.25 of the pixel-centre axis (Resize(2) of a 1x2
  // image, centre columns).
  RgbImage image{1, 2, {0, 0, 0, 255, 255, 255}};
  std::vector<float> out(3 * 2 * 2);
  resample_crop(whole(image), {0.5, 0, 1, 1}, 2, 2, false, out.data());
  EXPECT_FLOAT_EQ(out[0], 63.75f / 255.0f);
  EXPECT_FLOAT_EQ(out[1], 191.25f / 255.0f);
}

TEST(Resample, ShrinkingWidensTheTriangleFilterAsPilDoes) {
  // 4 -> 2 columns: scale 2, each output reads 3 pixels with weights 3/7, 3/7, 1/7 (PIL's bilinear reduce).
  RgbImage image{1, 4, {0, 0, 0, 100, 0, 0, 200, 0, 0, 250, 0, 0}};
  std::vector<float> out(3 * 1 * 2);
  resample_crop(whole(image), {0, 0, 4, 1}, 1, 2, false, out.data());
  EXPECT_NEAR(out[0] * 255, (0 * 0.75 + 100 * 0.75 + 200 * 0.25) / 1.75, 1e-3);
  EXPECT_NEAR(out[1] * 255, (100 * 0.25 + 200 * 0.75 + 250 * 0.75) / 1.75, 1e-3);
}

TEST(Resample, FlipMirrorsAndARegionResamplesLikeTheWholeImage) {
  RgbImage image{12, 16, gradient(16, 12)};
  const CropRect rect{3.5, 2.25, 9, 7};
  std::vector<float> plain(3 * 5 * 5), flipped(3 * 5 * 5), from_region(3 * 5 * 5);
  resample_crop(whole(image), rect, 5, 5, false, plain.data());
  resample_crop(whole(image), rect, 5, 5, true, flipped.data());
  for (int c = 0; c < 3; ++c)
    for (int y = 0; y < 5; ++y)
      for (int x = 0; x < 5; ++x) EXPECT_EQ(flipped[c * 25 + y * 5 + x], plain[c * 25 + y * 5 + 4 - x]);
  // The same pixels, held as a region that starts at (2, 1).
  const PixelSpan cols = resample_span(rect.left, rect.width, 5, 16), rows = resample_span(rect.top, rect.height, 5, 12);
  ASSERT_GE(cols.begin, 2);
  ASSERT_GE(rows.begin, 1);
  ImageRegion region;
  region.full_width = 16;
  region.full_height = 12;
  region.x0 = 2;
  region.y0 = 1;
  region.image.width = 14;
  region.image.height = 11;
  for (int y = 1; y < 12; ++y)
    for (int x = 2; x < 16; ++x)
      for (int c = 0; c < 3; ++c) region.image.pixels.push_back(image.pixels[(y * 16 + x) * 3 + c]);
  resample_crop(region, rect, 5, 5, false, from_region.data());
  EXPECT_EQ(from_region, plain);
}

// --- decoding --------------------------------------------------------------------------------------

TEST(JpegRegion, DecodesTheSamePixelsAsAFullDecodeAtEachScale) {
  TempDir dir;
  const std::string path = dir.file("g.jpg");
  testing::write_jpeg(path, 96, 80, gradient(96, 80));
  const std::vector<uint8_t> bytes = read_file_bytes(path);
  for (int eighths : {8, 4, 2}) {
    ImageRegion full, part;
    const int64_t w = jpeg_scaled_side(96, eighths), h = jpeg_scaled_side(80, eighths);
    decode_jpeg_region(bytes.data(), bytes.size(), path, eighths, {0, 0, w, h}, &full);
    ASSERT_EQ(full.full_width, w);
    ASSERT_EQ(full.image.height, h);
    const PixelBox box{w / 3, h / 4, w * 3 / 4, h * 2 / 3};
    decode_jpeg_region(bytes.data(), bytes.size(), path, eighths, box, &part);
    ASSERT_LE(part.x0, box.x0);
    ASSERT_GE(part.x0 + part.image.width, box.x1);
    ASSERT_LE(part.y0, box.y0);
    ASSERT_EQ(part.y0 + part.image.height, box.y1);
    for (int64_t y = box.y0; y < box.y1; ++y)
      for (int64_t x = box.x0; x < box.x1; ++x)
        for (int c = 0; c < 3; ++c)
          ASSERT_EQ(part.image.pixels[((y - part.y0) * part.image.width + x - part.x0) * 3 + c],
                    full.image.pixels[(y * w + x) * 3 + c])
              << "scale " << eighths << "/8 at " << x << "," << y;
  }
}

TEST(ImageFolderPhotos, GreyCmykProgressiveAndPngImagesDecodeToRgb) {
  TempDir dir;
  testing::write_jpeg_as(dir.file("train/a/grey.jpg"), 40, 30, Bytes(40 * 30, 128), {1});
  Bytes cmyk;  // Adobe's inverted CMYK: R = C'K'/255, so (250, 0, 0, 255) is red 250
  for (int i = 0; i < 40 * 30; ++i) cmyk.insert(cmyk.end(), {250, 0, 0, 255});
  testing::write_jpeg_as(dir.file("train/a/cmyk.jpg"), 40, 30, cmyk, {4});
  testing::write_jpeg_as(dir.file("train/a/progressive.jpg"), 40, 30, testing::solid_rgb(40, 30, 0, 0, 250),
                         {3, 95, true});
  testing::write_png(dir.file("train/a/rgb.png"), 40, 30, testing::solid_rgb(40, 30, 10, 200, 30), 3);
  Bytes rgba;
  for (int i = 0; i < 40 * 30; ++i) rgba.insert(rgba.end(), {10, 20, 30, 0});
  testing::write_png(dir.file("train/a/rgba.png"), 40, 30, rgba, 4);
  // A PNG under a JPEG name, as ImageNet has: the bytes decide.
  testing::write_png(dir.file("train/a/zpng.JPEG"), 40, 30, testing::solid_rgb(40, 30, 60, 70, 80), 3);
  auto data = open_dataset(folder_at(dir.path(), 16), Split::Train);
  ASSERT_EQ(data->size(), 6);  // sorted: cmyk, grey, progressive, rgb.png, rgba.png, zpng.JPEG
  expect_solid(testing::sample_of(*data, 0), 250 / 255.f, 0, 0, kJpegTolerance);
  expect_solid(testing::sample_of(*data, 1), 128 / 255.f, 128 / 255.f, 128 / 255.f, kJpegTolerance);
  expect_solid(testing::sample_of(*data, 2), 0, 0, 250 / 255.f, kJpegTolerance);
  expect_solid(testing::sample_of(*data, 3), 10 / 255.f, 200 / 255.f, 30 / 255.f, 1e-5f);
  expect_solid(testing::sample_of(*data, 4), 10 / 255.f, 20 / 255.f, 30 / 255.f, 1e-5f);  // alpha dropped
  expect_solid(testing::sample_of(*data, 5), 60 / 255.f, 70 / 255.f, 80 / 255.f, 1e-5f);
}

TEST(JpegRegion, ProgressiveRegionsMatchTheFullDecode) {
  TempDir dir;
  const std::string path = dir.file("p.jpg");
  testing::write_jpeg_as(path, 64, 48, gradient(64, 48), {3, 90, true});
  const std::vector<uint8_t> bytes = read_file_bytes(path);
  ImageRegion full, part;
  decode_jpeg_region(bytes.data(), bytes.size(), path, 4, {0, 0, 32, 24}, &full);
  decode_jpeg_region(bytes.data(), bytes.size(), path, 4, {9, 5, 20, 17}, &part);
  for (int64_t y = 5; y < 17; ++y)
    for (int64_t x = 9; x < 20; ++x)
      ASSERT_EQ(part.image.pixels[((y - part.y0) * part.image.width + x - part.x0) * 3],
                full.image.pixels[(y * 32 + x) * 3]);
}

// --- corrupt files ---------------------------------------------------------------------------------

void write_folder_with_a_truncated_file(const TempDir& dir) {
  testing::write_jpeg(dir.file("train/a/1.jpg"), 32, 32, testing::solid_rgb(32, 32, 200, 0, 0));
  testing::write_jpeg(dir.file("train/b/2.jpg"), 32, 32, gradient(32, 32));
  std::vector<uint8_t> whole_file = read_file_bytes(dir.path() + "/train/b/2.jpg");
  whole_file.resize(whole_file.size() / 2);
  testing::write_file(dir.file("train/a/2_truncated.jpg"), whole_file);
  testing::write_file(dir.file("train/b/3_text.jpg"), {'n', 'o', 't', ' ', 'a', ' ', 'j', 'p', 'g'});
  testing::write_jpeg(dir.file("train/b/4.jpg"), 32, 32, testing::solid_rgb(32, 32, 0, 0, 200));
}

TEST(ImageFolderPhotos, ACorruptFileIsADataErrorNamingItByDefault) {
  TempDir dir;
  write_folder_with_a_truncated_file(dir);
  auto data = open_dataset(folder_at(dir.path(), 8), Split::Train);
  EXPECT_THROW_WITH(testing::sample_of(*data, 1), DataError, {"train/a/2_truncated.jpg"});
  EXPECT_THROW_WITH(testing::sample_of(*data, 3), DataError, {"train/b/3_text.jpg"});
}

TEST(ImageFolderPhotos, SkippedCorruptFilesAreReplacedByTheNextDecodableOneAndCounted) {
  TempDir dir;
  write_folder_with_a_truncated_file(dir);
  auto data = open_dataset(folder_at(dir.path(), 8, /*skip_corrupt=*/true), Split::Train);
  ASSERT_EQ(data->size(), 5);  // a/1, a/2_truncated, b/2, b/3_text, b/4
  int32_t label = -1;
  const std::vector<float> replaced = testing::sample_of(*data, 1, &label);
  EXPECT_EQ(replaced, testing::sample_of(*data, 2));  // b/2.jpg stands in for a/2_truncated.jpg
  EXPECT_EQ(label, 1);                                 // with its own label
  expect_solid(testing::sample_of(*data, 3, &label), 0, 0, 200 / 255.f, kJpegTolerance);  // b/4 for b/3_text
  EXPECT_EQ(data->replaced_samples(), 2);
  testing::sample_of(*data, 1);
  EXPECT_EQ(data->replaced_samples(), 3);
}

TEST(ImageFolderPhotos, AFolderOfOnlyCorruptFilesIsADataError) {
  TempDir dir;
  testing::write_file(dir.file("train/a/x.jpg"), {1, 2, 3});
  auto data = open_dataset(folder_at(dir.path(), 8, true), Split::Train);
  EXPECT_THROW_WITH(testing::sample_of(*data, 0), DataError, {"could be decoded"});
}

TEST(Png, HeaderClaimingMorePixelsThanTheLimitIsRefusedBeforeDecoding) {
  TempDir dir;
  testing::write_png(dir.file("p.png"), 8, 8, testing::solid_rgb(8, 8, 1, 2, 3), 3);
  std::vector<uint8_t> bytes = read_file_bytes(dir.file("p.png"));
  // IHDR follows the signature: length (4), "IHDR", width (4), height (4), 5 more bytes, CRC of type + data.
  ASSERT_EQ(std::string(bytes.begin() + 12, bytes.begin() + 16), "IHDR");
  for (size_t at : {16, 20}) bytes[at] = 0, bytes[at + 1] = 0, bytes[at + 2] = 0xFD, bytes[at + 3] = 0xE8;  // 65000
  const uLong crc = crc32(0, bytes.data() + 12, 17);
  for (int i = 0; i < 4; ++i) bytes[29 + i] = static_cast<uint8_t>(crc >> (24 - 8 * i));
  int64_t width = 0, height = 0;
  EXPECT_THROW_WITH(png_dimensions(bytes.data(), bytes.size(), "huge.png", &width, &height), DataError,
                    {"huge.png", "65000 x 65000 pixels"});
  RgbImage image;
  EXPECT_THROW_WITH(decode_png(bytes.data(), bytes.size(), "huge.png", &image), DataError, {"huge.png", "65000"});
}

// --- the loader's random resized crops -------------------------------------------------------------

std::vector<std::vector<float>> epoch_images(const Dataset& data, int workers, int64_t epoch) {
  LoaderOptions o;
  o.batch_size = 4;
  o.seed = 11;
  o.random_resized_crop = true;
  o.horizontal_flip = true;
  o.workers = workers;
  Loader loader(data, o);
  loader.start_epoch(epoch);
  std::vector<std::vector<float>> out;
  Batch b;
  while (loader.next(b)) out.emplace_back(b.images.f32(), b.images.f32() + b.images.numel());
  return out;
}

TEST(RandomResizedCropLoader, BatchesDependOnTheSeedAndEpochNotOnTheWorkerCount) {
  TempDir dir;
  for (int i = 0; i < 12; ++i)
    testing::write_jpeg(dir.file("train/c" + std::to_string(i % 3) + "/" + std::to_string(i) + ".jpg"), 60 + 4 * i,
                        48, gradient(60 + 4 * i, 48));
  auto data = open_dataset(folder_at(dir.path(), 16), Split::Train);
  const auto one = epoch_images(*data, 1, 0);
  ASSERT_EQ(one.size(), 3u);
  EXPECT_EQ(epoch_images(*data, 3, 0), one);
  EXPECT_NE(epoch_images(*data, 1, 1), one);
  // Crops cut before the resize: not the evaluation view of the same samples.
  LoaderOptions eval;
  eval.batch_size = 4;
  eval.seed = 11;
  Loader plain(*data, eval);
  plain.start_epoch(0);
  Batch b;
  ASSERT_TRUE(plain.next(b));
  EXPECT_NE(std::vector<float>(b.images.f32(), b.images.f32() + b.images.numel()), one[0]);
}

TEST(RandomResizedCropLoader, DatasetsThatCannotCutPhotosAreAConfigError) {
  TempDir dir;
  DatasetOptions opts;
  opts.dataset = "synthetic";
  opts.synthetic_shape = {3, 8, 8};
  auto data = open_dataset(opts, Split::Train);
  LoaderOptions o;
  o.batch_size = 4;
  o.random_resized_crop = true;
  EXPECT_THROW_WITH(Loader(*data, o), ConfigError, {"data.augment.random_resized_crop", "image_folder"});
  o.random_resized_crop = false;
  LoaderOptions bad_scale = o;
  auto photos_dir = dir.file("train/a/x.jpg");
  testing::write_jpeg(photos_dir, 16, 16, gradient(16, 16));
  auto photos = open_dataset(folder_at(dir.path(), 8), Split::Train);
  bad_scale.batch_size = 1;
  bad_scale.random_resized_crop = true;
  bad_scale.crop = {0.5, 0.2, 0.75, 1.33};
  EXPECT_THROW_WITH(Loader(*photos, bad_scale), ConfigError, {"data.augment.crop_scale"});
}

}  // namespace
}  // namespace frugal
