// Fuzz target: CIFAR binary files. The input is a flags byte, then the file. Flag bits: 0 CIFAR-100
// (test.bin) rather than CIFAR-10 (test_batch.bin), 1 gzip it, 2 coarse labels, 3-4 the sample limit.
// The file goes through the dataset (record size, labels, samples) and `frugal data info`.
#include <vector>

#include "datasets/cifar.h"
#include "datasets/dataset.h"
#include "tests/fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace frugal::fuzz;
  static Scratch scratch("cifar");
  Parts parts(data, size);
  const uint8_t flags = parts.flags();
  const std::string records = parts.next();
  const frugal::CifarKind kind = (flags & 1) ? frugal::CifarKind::Cifar100 : frugal::CifarKind::Cifar10;
  const bool coarse = kind == frugal::CifarKind::Cifar100 && (flags & 4);
  const int64_t limit = (flags >> 3) & 3;
  scratch.clear();
  const std::string file = scratch.write(kind == frugal::CifarKind::Cifar10 ? "data/test_batch.bin" : "data/test.bin",
                                         (flags & 2) ? gzip(records) : records);
  run_input([&] {
    auto dataset = frugal::open_cifar_dataset(scratch.path("data"), kind, frugal::Split::Test, coarse, limit);
    std::vector<float> image(static_cast<size_t>(dataset->sample_shape().numel()));
    for (int64_t i = 0; i < dataset->size() && i < 3; ++i) {
      int32_t label = 0;
      dataset->get(i, image.data(), &label);
    }
  });
  run_input([&] { frugal::describe_data_path(scratch.path("data")); });
  return run_input([&] { frugal::describe_data_path(file); });
}
