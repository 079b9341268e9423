// The real Fashion-MNIST files (gzip IDX) installed on the development machines.
#include <gtest/gtest.h>

#include "datasets/dataset.h"
#include "datasets/file_bytes.h"
#include "tests/datasets/test_files.h"

namespace frugal {
namespace {

const char* kFashionMnistDir = "/usr/share/datasets/fashion-mnist";

DatasetOptions fashion_mnist() {
  DatasetOptions opts;
  opts.dataset = "fashion_mnist";
  opts.path = kFashionMnistDir;
  return opts;
}

TEST(FashionMnist, TrainSplitHas60000LabelledImagesStartingWithAnAnkleBoot) {
  if (!is_directory(kFashionMnistDir)) GTEST_SKIP() << kFashionMnistDir << " is not installed";
  auto data = open_dataset(fashion_mnist(), Split::Train);
  EXPECT_EQ(data->size(), 60000);
  EXPECT_EQ(data->sample_shape(), Shape({1, 28, 28}));
  EXPECT_EQ(data->num_classes(), 10);
  int32_t label = -1;
  std::vector<float> first = testing::sample_of(*data, 0, &label);
  EXPECT_EQ(label, 9);  // ankle boot
  float sum = 0, top = 0;
  for (float v : first) sum += v, top = std::max(top, v);
  EXPECT_GT(sum, 50.0f);  // not a blank image
  EXPECT_EQ(top, 1.0f);   // byte 255 maps to exactly 1
  testing::sample_of(*data, 59999, &label);
  EXPECT_EQ(label, 5);  // the last training label (sandal)
}

TEST(FashionMnist, TestSplitHas10000Images) {
  if (!is_directory(kFashionMnistDir)) GTEST_SKIP() << kFashionMnistDir << " is not installed";
  auto data = open_dataset(fashion_mnist(), Split::Test);
  EXPECT_EQ(data->size(), 10000);
  int32_t label = -1;
  testing::sample_of(*data, 0, &label);
  EXPECT_EQ(label, 9);
}

TEST(FashionMnist, DescribeSummarisesBothSplits) {
  if (!is_directory(kFashionMnistDir)) GTEST_SKIP() << kFashionMnistDir << " is not installed";
  std::string text = describe_data_path(kFashionMnistDir);
  // Fashion-MNIST is balanced: 6000 training and 1000 test images per class.
  EXPECT_TRUE(
      testing::contains_all(text, {"IDX", "train: 60000 images [1, 28, 28], 10 classes",
                                   "test: 10000 images", "9:6000", "9:1000", "pixel mean [0.28"}))
      << text;
}

}  // namespace
}  // namespace frugal
