#include "datasets/idx.h"

#include <gtest/gtest.h>

#include "core/error.h"
#include "tests/datasets/test_files.h"

namespace frugal {
namespace {

using testing::Bytes;
using testing::TempDir;

uint8_t pattern(uint32_t i, uint32_t y, uint32_t x) {
  return static_cast<uint8_t>(100 * i + 10 * y + x);
}

DatasetOptions mnist_at(const std::string& dir) {
  DatasetOptions opts;
  opts.dataset = "mnist";
  opts.path = dir;
  return opts;
}

// Train: 3 images of 2x3 with labels {3, 0, 9}, plain files.
void write_plain_train(const TempDir& dir) {
  testing::write_file(dir.file("train-images-idx3-ubyte"), testing::idx_images(3, 2, 3, pattern));
  testing::write_file(dir.file("train-labels-idx1-ubyte"), testing::idx_labels({3, 0, 9}));
}

TEST(Idx, ReadsPlainFilesExactly) {
  TempDir dir;
  write_plain_train(dir);
  auto data = open_dataset(mnist_at(dir.path()), Split::Train);
  ASSERT_EQ(data->size(), 3);
  EXPECT_EQ(data->sample_shape(), Shape({1, 2, 3}));
  EXPECT_EQ(data->num_classes(), 10);
  int32_t label = -1;
  std::vector<float> image = testing::sample_of(*data, 2, &label);
  EXPECT_EQ(label, 9);
  for (uint32_t y = 0; y < 2; ++y)
    for (uint32_t x = 0; x < 3; ++x) EXPECT_EQ(image[y * 3 + x], pattern(2, y, x) / 255.0f);
  testing::sample_of(*data, 1, &label);
  EXPECT_EQ(label, 0);
}

TEST(Idx, ReadsGzipFilesOfTheTestSplit) {
  TempDir dir;
  testing::write_gzip(dir.file("t10k-images-idx3-ubyte.gz"), testing::idx_images(2, 4, 4, pattern));
  testing::write_gzip(dir.file("t10k-labels-idx1-ubyte.gz"), testing::idx_labels({7, 1}));
  auto data = open_dataset(mnist_at(dir.path()), Split::Test);
  ASSERT_EQ(data->size(), 2);
  int32_t label = -1;
  std::vector<float> image = testing::sample_of(*data, 1, &label);
  EXPECT_EQ(label, 1);
  EXPECT_EQ(image[4 * 3 + 2], pattern(1, 3, 2) / 255.0f);
}

TEST(Idx, AcceptsDotSpellingInsideRawSubdirectory) {
  TempDir dir;
  testing::write_file(dir.file("raw/train-images.idx3-ubyte"),
                      testing::idx_images(1, 2, 2, pattern));
  testing::write_file(dir.file("raw/train-labels.idx1-ubyte"), testing::idx_labels({5}));
  auto data = open_dataset(mnist_at(dir.path()), Split::Train);
  EXPECT_EQ(data->size(), 1);
}

TEST(Idx, LimitKeepsTheFirstSamples) {
  TempDir dir;
  write_plain_train(dir);
  DatasetOptions opts = mnist_at(dir.path());
  opts.limit = 2;
  auto data = open_dataset(opts, Split::Train);
  ASSERT_EQ(data->size(), 2);
  int32_t label = -1;
  EXPECT_EQ(testing::sample_of(*data, 1, &label)[0], pattern(1, 0, 0) / 255.0f);
  EXPECT_EQ(label, 0);
}

TEST(Idx, MissingLabelFileIsDataErrorNamingTheExpectedFile) {
  TempDir dir;
  testing::write_file(dir.file("train-images-idx3-ubyte"), testing::idx_images(3, 2, 3, pattern));
  EXPECT_THROW_WITH(open_dataset(mnist_at(dir.path()), Split::Train), DataError,
                    {dir.path(), "train-labels-idx1-ubyte"});
}

TEST(Idx, WrongMagicNumberNamesFileAndBothNumbers) {
  TempDir dir;
  write_plain_train(dir);
  // A label file where the image file belongs.
  testing::write_file(dir.file("train-images-idx3-ubyte"), testing::idx_labels({1, 2, 3}));
  EXPECT_THROW_WITH(open_dataset(mnist_at(dir.path()), Split::Train), DataError,
                    {"train-images-idx3-ubyte", "0x00000803", "0x00000801", "magic"});
}

TEST(Idx, TruncatedFileNamesFileAndPromisedBytes) {
  TempDir dir;
  write_plain_train(dir);
  Bytes images = testing::idx_images(3, 2, 3, pattern);
  images.resize(images.size() - 4);
  testing::write_file(dir.file("train-images-idx3-ubyte"), images);
  EXPECT_THROW_WITH(open_dataset(mnist_at(dir.path()), Split::Train), DataError,
                    {"train-images-idx3-ubyte", "truncated", "18 bytes", "found 14"});
}

TEST(Idx, TruncatedGzipStreamNamesFile) {
  TempDir dir;
  testing::write_file(dir.file("train-labels-idx1-ubyte"), testing::idx_labels({3, 0, 9}));
  const std::string gz = dir.file("train-images-idx3-ubyte.gz");
  testing::write_gzip(gz, testing::idx_images(3, 20, 20, pattern));
  Bytes whole;
  {
    FILE* f = std::fopen(gz.c_str(), "rb");
    int c;
    while ((c = std::fgetc(f)) != EOF) whole.push_back(static_cast<uint8_t>(c));
    std::fclose(f);
  }
  whole.resize(whole.size() / 2);
  testing::write_file(gz, whole);
  EXPECT_THROW_WITH(open_dataset(mnist_at(dir.path()), Split::Train), DataError,
                    {"train-images-idx3-ubyte.gz"});
}

TEST(Idx, BytesBeyondTheHeaderPromiseAreDataError) {
  TempDir dir;
  write_plain_train(dir);
  Bytes labels = testing::idx_labels({3, 0, 9});
  labels.push_back(4);
  testing::write_file(dir.file("train-labels-idx1-ubyte"), labels);
  EXPECT_THROW_WITH(open_dataset(mnist_at(dir.path()), Split::Train), DataError,
                    {"train-labels-idx1-ubyte", "1 bytes beyond"});
}

TEST(Idx, LabelOutOfRangeNamesFileSampleAndRange) {
  TempDir dir;
  write_plain_train(dir);
  testing::write_file(dir.file("train-labels-idx1-ubyte"), testing::idx_labels({3, 12, 9}));
  EXPECT_THROW_WITH(open_dataset(mnist_at(dir.path()), Split::Train), DataError,
                    {"train-labels-idx1-ubyte", "sample 1", "label 12", "[0, 10)"});
}

TEST(Idx, ImageLabelCountMismatchNamesBothFiles) {
  TempDir dir;
  write_plain_train(dir);
  testing::write_file(dir.file("train-labels-idx1-ubyte"), testing::idx_labels({3, 0}));
  EXPECT_THROW_WITH(open_dataset(mnist_at(dir.path()), Split::Train), DataError,
                    {"train-images-idx3-ubyte", "train-labels-idx1-ubyte", "3 images", "2 labels"});
}

TEST(Idx, DescribeNamesFormatPathCountShapeAndClasses) {
  TempDir dir;
  write_plain_train(dir);
  DatasetOptions opts = mnist_at(dir.path());
  opts.dataset = "fashion_mnist";
  auto data = open_dataset(opts, Split::Train);
  EXPECT_TRUE(testing::contains_all(data->describe(), {"fashion_mnist", "train", dir.path(),
                                                       "3 samples", "[1, 2, 3]", "10 classes"}))
      << data->describe();
}

TEST(OpenDataset, UnknownDatasetNameIsConfigErrorListingTheChoices) {
  DatasetOptions opts;
  opts.dataset = "imagenet";
  opts.path = "/nowhere";
  EXPECT_THROW_WITH(open_dataset(opts, Split::Train), ConfigError,
                    {"imagenet", "fashion_mnist", "cifar100"});
}

}  // namespace
}  // namespace frugal
