#include "datasets/cifar.h"

#include <gtest/gtest.h>

#include "core/error.h"
#include "tests/datasets/test_files.h"

namespace frugal {
namespace {

using testing::Bytes;
using testing::TempDir;

// data_batch_k.bin holds two records labelled {k, 9 - k}; record numbers run on across files.
void write_cifar10(const TempDir& dir, const std::string& subdir = "") {
  const std::string prefix = subdir.empty() ? "" : subdir + "/";
  for (int k = 1; k <= 5; ++k)
    testing::write_file(dir.file(prefix + "data_batch_" + std::to_string(k) + ".bin"),
                        testing::cifar10_records(
                            {static_cast<uint8_t>(k), static_cast<uint8_t>(9 - k)}, 2 * (k - 1)));
  testing::write_file(dir.file(prefix + "test_batch.bin"),
                      testing::cifar10_records({0, 4, 8}, 100));
}

DatasetOptions at(const std::string& name, const std::string& dir) {
  DatasetOptions opts;
  opts.dataset = name;
  opts.path = dir;
  return opts;
}

void expect_record_pixels(const std::vector<float>& image, int record) {
  ASSERT_EQ(image.size(), 3072u);
  // Plane order R, G, B: byte p of the record is value p of the CHW sample.
  for (int p : {0, 1, 1023, 1024, 2047, 2048, 3071})
    EXPECT_EQ(image[p], testing::cifar_pixel(record, p) / 255.0f)
        << "record " << record << " byte " << p;
}

TEST(Cifar10, TrainConcatenatesBatchesInOrderWithPlanarPixels) {
  TempDir dir;
  write_cifar10(dir);
  auto data = open_dataset(at("cifar10", dir.path()), Split::Train);
  ASSERT_EQ(data->size(), 10);
  EXPECT_EQ(data->sample_shape(), Shape({3, 32, 32}));
  EXPECT_EQ(data->num_classes(), 10);
  int32_t label = -1;
  for (int r = 0; r < 10; ++r) {
    std::vector<float> image = testing::sample_of(*data, r, &label);
    const int batch = r / 2 + 1;
    EXPECT_EQ(label, r % 2 == 0 ? batch : 9 - batch) << "record " << r;
    expect_record_pixels(image, r);
  }
}

TEST(Cifar10, TestSplitReadsTestBatch) {
  TempDir dir;
  write_cifar10(dir);
  auto data = open_dataset(at("cifar10", dir.path()), Split::Test);
  ASSERT_EQ(data->size(), 3);
  int32_t label = -1;
  expect_record_pixels(testing::sample_of(*data, 2, &label), 102);
  EXPECT_EQ(label, 8);
}

TEST(Cifar10, AcceptsTheBatchesBinSubdirectory) {
  TempDir dir;
  write_cifar10(dir, "cifar-10-batches-bin");
  auto data = open_dataset(at("cifar10", dir.path()), Split::Test);
  EXPECT_EQ(data->size(), 3);
}

TEST(Cifar10, LimitKeepsTheFirstRecords) {
  TempDir dir;
  write_cifar10(dir);
  DatasetOptions opts = at("cifar10", dir.path());
  opts.limit = 3;
  auto data = open_dataset(opts, Split::Train);
  ASSERT_EQ(data->size(), 3);
  expect_record_pixels(testing::sample_of(*data, 2), 2);
}

TEST(Cifar10, MissingBatchFileIsDataErrorNamingIt) {
  TempDir dir;
  write_cifar10(dir);
  std::remove(dir.file("data_batch_4.bin").c_str());
  EXPECT_THROW_WITH(open_dataset(at("cifar10", dir.path()), Split::Train), DataError,
                    {"data_batch_4.bin"});
}

TEST(Cifar10, DirectoryWithoutCifarFilesIsDataErrorNamingIt) {
  TempDir dir;
  EXPECT_THROW_WITH(open_dataset(at("cifar10", dir.path()), Split::Train), DataError,
                    {dir.path(), "data_batch_1..5.bin"});
}

TEST(Cifar10, FileSizeNotAMultipleOfTheRecordIsDataError) {
  TempDir dir;
  write_cifar10(dir);
  Bytes records = testing::cifar10_records({1, 2});
  records.pop_back();
  testing::write_file(dir.file("data_batch_2.bin"), records);
  EXPECT_THROW_WITH(open_dataset(at("cifar10", dir.path()), Split::Train), DataError,
                    {"data_batch_2.bin", "6145 bytes", "3073-byte"});
}

TEST(Cifar10, LabelOutOfRangeNamesFileAndRecord) {
  TempDir dir;
  write_cifar10(dir);
  testing::write_file(dir.file("test_batch.bin"), testing::cifar10_records({0, 10}));
  EXPECT_THROW_WITH(open_dataset(at("cifar10", dir.path()), Split::Test), DataError,
                    {"test_batch.bin", "record 1", "label 10", "[0, 10)"});
}

void write_cifar100(const TempDir& dir) {
  testing::write_file(dir.file("cifar-100-binary/train.bin"),
                      testing::cifar100_records({{3, 47}, {19, 99}, {0, 0}}));
  testing::write_file(dir.file("cifar-100-binary/test.bin"),
                      testing::cifar100_records({{7, 12}}, 50));
}

TEST(Cifar100, FineLabelsByDefault) {
  TempDir dir;
  write_cifar100(dir);
  auto data = open_dataset(at("cifar100", dir.path()), Split::Train);
  ASSERT_EQ(data->size(), 3);
  EXPECT_EQ(data->num_classes(), 100);
  int32_t label = -1;
  expect_record_pixels(testing::sample_of(*data, 1, &label), 1);
  EXPECT_EQ(label, 99);
}

TEST(Cifar100, CoarseLabelsWhenAsked) {
  TempDir dir;
  write_cifar100(dir);
  DatasetOptions opts = at("cifar100", dir.path());
  opts.label_type = "coarse";
  auto data = open_dataset(opts, Split::Test);
  ASSERT_EQ(data->size(), 1);
  EXPECT_EQ(data->num_classes(), 20);
  int32_t label = -1;
  expect_record_pixels(testing::sample_of(*data, 0, &label), 50);
  EXPECT_EQ(label, 7);
}

TEST(Cifar100, UnknownLabelTypeIsConfigError) {
  TempDir dir;
  write_cifar100(dir);
  DatasetOptions opts = at("cifar100", dir.path());
  opts.label_type = "medium";
  EXPECT_THROW_WITH(open_dataset(opts, Split::Train), ConfigError, {"label_type", "medium"});
}

TEST(Cifar100, FileSizeUsesTheTwoLabelRecord) {
  TempDir dir;
  write_cifar100(dir);
  // Two CIFAR-10 records are 6146 bytes: not a multiple of CIFAR-100's 3074-byte record.
  testing::write_file(dir.file("cifar-100-binary/test.bin"), testing::cifar10_records({1, 2}));
  EXPECT_THROW_WITH(open_dataset(at("cifar100", dir.path()), Split::Test), DataError,
                    {"test.bin", "3074-byte"});
}

TEST(Cifar100, CoarseLabelOutOfRangeIsDataError) {
  TempDir dir;
  write_cifar100(dir);
  testing::write_file(dir.file("cifar-100-binary/train.bin"), testing::cifar100_records({{20, 1}}));
  EXPECT_THROW_WITH(open_dataset(at("cifar100", dir.path()), Split::Train), DataError,
                    {"train.bin", "coarse label 20", "[0, 20)"});
}

}  // namespace
}  // namespace frugal
