// Samples [begin, end) of another dataset, as a dataset of their own (a rank's share of the test split
// under data parallelism).
#pragma once
#include <string>

#include "datasets/dataset.h"

namespace frugal {

class DatasetRange final : public Dataset {
 public:
  // `data` must outlive the range; InternalError unless 0 <= begin <= end <= data.size().
  DatasetRange(const Dataset& data, int64_t begin, int64_t end);
  int64_t size() const override { return end_ - begin_; }
  Shape sample_shape() const override { return data_.sample_shape(); }
  int64_t num_classes() const override { return data_.num_classes(); }
  void get(int64_t index, float* image, int32_t* label) const override { data_.get(begin_ + index, image, label); }
  std::string describe() const override;

 private:
  const Dataset& data_;
  int64_t begin_, end_;
};

}  // namespace frugal
