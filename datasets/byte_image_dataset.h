// A dataset held in memory as 8-bit pixels, the storage behind IDX and CIFAR: one byte per value,
// converted to [0, 1] floats on get().
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "core/shape.h"
#include "datasets/dataset.h"

namespace frugal {

class ByteImageDataset : public Dataset {
 public:
  // pixels: size() * C*H*W bytes, sample-major, CHW within a sample. `what` is the describe() line
  // less the counts, e.g. "fashion_mnist train /data/fmnist".
  ByteImageDataset(std::vector<uint8_t> pixels, std::vector<int32_t> labels, Shape sample_shape,
                   int64_t num_classes, std::string what);

  int64_t size() const override { return static_cast<int64_t>(labels_.size()); }
  Shape sample_shape() const override { return shape_; }
  int64_t num_classes() const override { return num_classes_; }
  void get(int64_t index, float* image, int32_t* label) const override;
  std::string describe() const override;
  size_t storage_bytes() const override { return pixels_.capacity() + labels_.capacity() * sizeof(int32_t); }

  const std::vector<int32_t>& labels() const { return labels_; }

 private:
  std::vector<uint8_t> pixels_;
  std::vector<int32_t> labels_;
  Shape shape_;
  int64_t num_classes_;
  std::string what_;
};

// Keeps the first `limit` samples (all when limit is 0 or larger than the count).
void apply_limit(int64_t limit, int64_t sample_bytes, std::vector<uint8_t>& pixels,
                 std::vector<int32_t>& labels);

// Throws InternalError when index is outside [0, size); shared by every dataset's get().
void check_sample_index(int64_t index, int64_t size, const char* what);

// " 0:6000  1:6000 ..." ten entries per line, for summaries.
std::string label_histogram(const std::vector<int32_t>& labels, int64_t num_classes);

}  // namespace frugal
