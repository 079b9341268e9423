#include <gtest/gtest.h>

#include "core/error.h"
#include "datasets/dataset.h"
#include "tests/datasets/test_files.h"

namespace frugal {
namespace {

using testing::TempDir;

uint8_t half_white(uint32_t i, uint32_t y, uint32_t x) { return x < 2 ? 0 : 255; }

TEST(DescribeDataPath, IdxDirectoryShowsCountsShapeClassesAndHistogram) {
  TempDir dir;
  testing::write_gzip(dir.file("train-images-idx3-ubyte.gz"),
                      testing::idx_images(4, 3, 4, half_white));
  testing::write_gzip(dir.file("train-labels-idx1-ubyte.gz"), testing::idx_labels({0, 2, 2, 1}));
  std::string text = describe_data_path(dir.path());
  EXPECT_TRUE(
      testing::contains_all(text, {"IDX", dir.path(), "train: 4 images [1, 3, 4], 3 classes",
                                   "0:1 ", "1:1 ", "  2:2\n", "pixel mean [0.5000]  std [0.5000]"}))
      << text;
  // The missing test split is reported, not fatal.
  EXPECT_TRUE(testing::contains_all(text, {"test: ", "t10k-images-idx3-ubyte"})) << text;
}

TEST(DescribeDataPath, SingleGzipLabelFileShowsItsHistogram) {
  TempDir dir;
  const std::string path = dir.file("labels.gz");
  testing::write_gzip(path, testing::idx_labels({4, 4, 4, 0}));
  std::string text = describe_data_path(path);
  EXPECT_TRUE(testing::contains_all(
      text, {"IDX labels file", "(gzip)", "labels: 4", "classes: 5", "  4:3\n"}))
      << text;
}

TEST(DescribeDataPath, SingleIdxImageFileShowsShape) {
  TempDir dir;
  const std::string path = dir.file("images");
  testing::write_file(path, testing::idx_images(2, 3, 5, half_white));
  EXPECT_TRUE(testing::contains_all(describe_data_path(path),
                                    {"IDX images file", "images: 2", "[1, 3, 5]"}));
}

TEST(DescribeDataPath, Cifar10DirectoryShowsBothSplits) {
  TempDir dir;
  for (int k = 1; k <= 5; ++k)
    testing::write_file(dir.file("cifar-10-batches-bin/data_batch_" + std::to_string(k) + ".bin"),
                        testing::cifar10_records({static_cast<uint8_t>(k)}));
  testing::write_file(dir.file("cifar-10-batches-bin/test_batch.bin"),
                      testing::cifar10_records({0, 0}));
  std::string text = describe_data_path(dir.path());
  EXPECT_TRUE(testing::contains_all(
      text, {"CIFAR-10", "train: 5 images [3, 32, 32]", "test: 2 images", "0:2 ", "(10 classes)"}))
      << text;
}

TEST(DescribeDataPath, Cifar100FileShowsCoarseAndFineHistograms) {
  TempDir dir;
  const std::string path = dir.file("train.bin");
  testing::write_file(path, testing::cifar100_records({{19, 99}, {19, 3}}));
  std::string text = describe_data_path(path);
  EXPECT_TRUE(testing::contains_all(
      text, {"CIFAR-100 binary file", "2 images", " 19:2\n", " 99:1\n", "(100 classes)"}))
      << text;
}

TEST(DescribeDataPath, ImageFolderShowsClassesPerSplit) {
  TempDir dir;
  testing::write_jpeg(dir.file("train/ant/1.jpg"), 8, 8, testing::solid_rgb(8, 8, 1, 1, 1));
  testing::write_jpeg(dir.file("train/bee/1.jpg"), 8, 8, testing::solid_rgb(8, 8, 1, 1, 1));
  testing::write_jpeg(dir.file("train/bee/2.jpg"), 8, 8, testing::solid_rgb(8, 8, 1, 1, 1));
  testing::write_jpeg(dir.file("val/bee/3.jpg"), 8, 8, testing::solid_rgb(8, 8, 1, 1, 1));
  std::string text = describe_data_path(dir.path());
  EXPECT_TRUE(testing::contains_all(text, {"image folder", "train: 3 JPEG files in 2 classes",
                                           "0=ant(1)", "1=bee(2)", "test: 1 JPEG files"}))
      << text;
}

TEST(DescribeDataPath, UnrecognisedDirectoryIsDataErrorNamingIt) {
  TempDir dir;
  testing::write_file(dir.file("notes.txt"), {'x'});
  EXPECT_THROW_WITH(describe_data_path(dir.path()), DataError, {"could not detect", dir.path()});
}

TEST(DescribeDataPath, UnrecognisedFileIsDataErrorNamingItsMagic) {
  TempDir dir;
  const std::string path = dir.file("notes.txt");
  testing::write_file(path, {'a', 'b', 'c', 'd', 'e'});
  EXPECT_THROW_WITH(describe_data_path(path), DataError, {path, "0x61626364"});
}

TEST(DescribeDataPath, MissingPathIsDataError) {
  EXPECT_THROW_WITH(describe_data_path("/nonexistent/frugal/data"), DataError,
                    {"/nonexistent/frugal/data"});
}

}  // namespace
}  // namespace frugal
