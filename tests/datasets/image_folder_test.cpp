#include "datasets/image_folder.h"

#include <gtest/gtest.h>

#include <cmath>

#include "core/error.h"
#include "datasets/file_bytes.h"
#include "datasets/jpeg.h"
#include "tests/datasets/test_files.h"

namespace frugal {
namespace {

using testing::TempDir;

constexpr float kJpegTolerance = 3.0f / 255.0f;  // solid colors survive JPEG within a few levels

// train/cat: two red images, train/dog: one blue image (+ a non-JPEG to ignore), val/dog: one
// green.
void write_folder(const TempDir& dir) {
  testing::write_jpeg(dir.file("train/cat/b.JPEG"), 16, 16, testing::solid_rgb(16, 16, 250, 0, 0));
  testing::write_jpeg(dir.file("train/cat/a.jpg"), 24, 16, testing::solid_rgb(24, 16, 250, 0, 0));
  testing::write_jpeg(dir.file("train/dog/c.jpeg"), 16, 20, testing::solid_rgb(16, 20, 0, 0, 250));
  testing::write_file(dir.file("train/dog/notes.txt"), {'h', 'i'});
  testing::write_jpeg(dir.file("val/dog/d.jpg"), 16, 16, testing::solid_rgb(16, 16, 0, 250, 0));
}

DatasetOptions folder_at(const std::string& dir, int64_t image_size = 8) {
  DatasetOptions opts;
  opts.dataset = "image_folder";
  opts.path = dir;
  opts.image_size = image_size;
  return opts;
}

void expect_solid(const std::vector<float>& image, int64_t side, float r, float g, float b) {
  ASSERT_EQ(image.size(), static_cast<size_t>(3 * side * side));
  const float rgb[3] = {r, g, b};
  for (int c = 0; c < 3; ++c)
    for (int64_t i = 0; i < side * side; ++i)
      ASSERT_NEAR(image[c * side * side + i], rgb[c], kJpegTolerance)
          << "channel " << c << " pixel " << i;
}

TEST(ImageFolder, IndexesClassesSortedByNameAndOnlyJpegFiles) {
  TempDir dir;
  write_folder(dir);
  auto data = open_dataset(folder_at(dir.path()), Split::Train);
  auto& folder = dynamic_cast<const ImageFolderDataset&>(*data);
  EXPECT_EQ(folder.index().classes, (std::vector<std::string>{"cat", "dog"}));
  ASSERT_EQ(data->size(), 3);
  EXPECT_EQ(data->num_classes(), 2);
  // Files sorted bytewise within a class: "a.jpg" < "b.JPEG".
  EXPECT_EQ(folder.index().files[0], dir.path() + "/train/cat/a.jpg");
  EXPECT_EQ(folder.index().labels, (std::vector<int32_t>{0, 0, 1}));
}

TEST(ImageFolder, DecodesResizesAndCropsToImageSize) {
  TempDir dir;
  write_folder(dir);
  auto data = open_dataset(folder_at(dir.path(), 8), Split::Train);
  EXPECT_EQ(data->sample_shape(), Shape({3, 8, 8}));
  int32_t label = -1;
  expect_solid(testing::sample_of(*data, 0, &label), 8, 250 / 255.0f, 0, 0);
  EXPECT_EQ(label, 0);
  expect_solid(testing::sample_of(*data, 2, &label), 8, 0, 0, 250 / 255.0f);
  EXPECT_EQ(label, 1);
}

TEST(ImageFolder, TestSplitReadsValWithTheTrainingClassLabels) {
  TempDir dir;
  write_folder(dir);
  auto data = open_dataset(folder_at(dir.path()), Split::Test);
  ASSERT_EQ(data->size(), 1);
  EXPECT_EQ(data->num_classes(), 2);
  int32_t label = -1;
  expect_solid(testing::sample_of(*data, 0, &label), 8, 0, 250 / 255.0f, 0);
  EXPECT_EQ(label, 1);  // "dog" is class 1 in train/, though the only class in val/
}

TEST(ImageFolder, ValClassMissingFromTrainIsDataError) {
  TempDir dir;
  write_folder(dir);
  testing::write_jpeg(dir.file("val/zebra/z.jpg"), 8, 8, testing::solid_rgb(8, 8, 1, 2, 3));
  EXPECT_THROW_WITH(open_dataset(folder_at(dir.path()), Split::Test), DataError, {"val/zebra"});
}

TEST(ImageFolder, GrayscaleJpegIsReplicatedToRgb) {
  TempDir dir;
  testing::write_jpeg(dir.file("train/g/gray.jpg"), 16, 16, testing::Bytes(16 * 16, 128), 1);
  auto data = open_dataset(folder_at(dir.path(), 4), Split::Train);
  expect_solid(testing::sample_of(*data, 0), 4, 128 / 255.0f, 128 / 255.0f, 128 / 255.0f);
}

TEST(ImageFolder, UndecodableJpegIsDataErrorNamingTheFile) {
  TempDir dir;
  write_folder(dir);
  testing::write_file(dir.file("train/dog/broken.jpg"),
                      {'n', 'o', 't', ' ', 'a', ' ', 'j', 'p', 'g'});
  auto data = open_dataset(folder_at(dir.path()), Split::Train);
  // Decoding is lazy: the index opens fine, get() of the broken file fails.
  EXPECT_THROW_WITH(testing::sample_of(*data, 2), DataError, {"train/dog/broken.jpg", "JPEG"});
}

TEST(ImageFolder, EmptyFolderIsDataErrorNamingIt) {
  TempDir dir;
  testing::write_file(dir.file("train/readme.txt"), {'x'});
  EXPECT_THROW_WITH(open_dataset(folder_at(dir.path()), Split::Train), DataError,
                    {"empty image folder", "train"});
}

TEST(ImageFolder, ClassWithoutJpegsIsDataErrorNamingIt) {
  TempDir dir;
  write_folder(dir);
  testing::write_file(dir.file("train/emu/readme.txt"), {'x'});
  EXPECT_THROW_WITH(open_dataset(folder_at(dir.path()), Split::Train), DataError, {"train/emu"});
}

TEST(ImageFolder, MissingImageSizeIsConfigError) {
  TempDir dir;
  write_folder(dir);
  EXPECT_THROW_WITH(open_dataset(folder_at(dir.path(), 0), Split::Train), ConfigError,
                    {"image_size"});
}

TEST(Jpeg, DctScalingShrinksWhileTheShortSideStaysLargeEnough) {
  TempDir dir;
  const std::string path = dir.file("big.jpg");
  testing::write_jpeg(path, 96, 64, testing::solid_rgb(96, 64, 10, 200, 30));
  RgbImage full = decode_jpeg_file(path);
  EXPECT_EQ(full.width, 96);
  EXPECT_EQ(full.height, 64);
  RgbImage quarter = decode_jpeg_file(path, 16);  // 64 / 4 = 16 >= 16, 64 / 8 = 8 < 16
  EXPECT_EQ(quarter.width, 24);
  EXPECT_EQ(quarter.height, 16);
  EXPECT_NEAR(quarter.pixels[3 * 50 + 1], 200, 3);
}

// A 64 x 64 JPEG of noise (so most of its bytes are image data, not headers).
std::vector<uint8_t> noisy_jpeg(const TempDir& dir) {
  testing::Bytes pixels(64 * 64 * 3);
  for (size_t i = 0; i < pixels.size(); ++i) pixels[i] = static_cast<uint8_t>(i * 37 % 251);
  testing::write_jpeg(dir.file("noise.jpg"), 64, 64, pixels);
  return read_file_bytes(dir.file("noise.jpg"));
}

TEST(Jpeg, ImageDataThatEndsEarlyIsDataErrorNotAGrayPicture) {
  TempDir dir;
  const std::vector<uint8_t> bytes = noisy_jpeg(dir);
  ASSERT_NO_THROW(decode_jpeg(bytes.data(), bytes.size(), "whole.jpg"));
  EXPECT_THROW_WITH(decode_jpeg(bytes.data(), bytes.size() * 2 / 3, "cut.jpg"), DataError,
                    {"cut.jpg", "Premature end"});
}

TEST(Jpeg, HeaderClaimingMorePixelsThanTheLimitIsRefusedBeforeDecoding) {
  TempDir dir;
  std::vector<uint8_t> bytes = noisy_jpeg(dir);
  // The baseline frame header: FF C0, length (2), precision (1), height (2), width (2).
  size_t sof = 0;
  while (sof + 9 < bytes.size() && !(bytes[sof] == 0xFF && bytes[sof + 1] == 0xC0)) ++sof;
  ASSERT_LT(sof + 9, bytes.size());
  for (size_t at : {sof + 5, sof + 7}) bytes[at] = 0xFD, bytes[at + 1] = 0xE8;  // 65000
  EXPECT_THROW_WITH(decode_jpeg(bytes.data(), bytes.size(), "huge.jpg"), DataError,
                    {"huge.jpg", "65000 x 65000 pixels"});
  int64_t width = 0, height = 0;  // the crop geometry reads the header first: refused there too
  EXPECT_THROW_WITH(jpeg_dimensions(bytes.data(), bytes.size(), "huge.jpg", &width, &height), DataError,
                    {"huge.jpg", "65000 x 65000 pixels"});
}

}  // namespace
}  // namespace frugal
