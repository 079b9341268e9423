// Fuzz target: IDX files, plain and gzip. The input is a flags byte, then an images file and a labels
// file (two parts). Flag bits: 0 gzip the images, 1 gzip the labels, 2 name them as the test split,
// 3-4 the sample limit. Both go through the dataset (header checks, labels, samples) and through
// `frugal data info` on the folder and on each file.
#include <vector>

#include "datasets/dataset.h"
#include "datasets/idx.h"
#include "tests/fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace frugal::fuzz;
  static Scratch scratch("idx");
  Parts parts(data, size);
  const uint8_t flags = parts.flags();
  std::string images = parts.next(), labels = parts.next();
  const bool gz_images = flags & 1, gz_labels = flags & 2;
  const frugal::Split split = (flags & 4) ? frugal::Split::Test : frugal::Split::Train;
  const int64_t limit = (flags >> 3) & 3;
  const std::string prefix = split == frugal::Split::Train ? "train" : "t10k";
  scratch.clear();
  const std::string images_file = scratch.write("data/" + prefix + "-images-idx3-ubyte" + (gz_images ? ".gz" : ""),
                                                gz_images ? gzip(images) : images);
  const std::string labels_file = scratch.write("data/" + prefix + "-labels-idx1-ubyte" + (gz_labels ? ".gz" : ""),
                                                gz_labels ? gzip(labels) : labels);
  run_input([&] {
    auto dataset = frugal::open_idx_dataset("fuzz", scratch.path("data"), split, 10, limit);
    std::vector<float> image(static_cast<size_t>(dataset->sample_shape().numel()));
    for (int64_t i = 0; i < dataset->size() && i < 3; ++i) {
      int32_t label = 0;
      dataset->get(i, image.data(), &label);
    }
  });
  run_input([&] { frugal::describe_data_path(scratch.path("data")); });
  run_input([&] { frugal::describe_data_path(images_file); });
  return run_input([&] { frugal::describe_data_path(labels_file); });
}
