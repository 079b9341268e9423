// A generated, learnable dataset for tests and benchmarks: every class has a random prototype image
// (uniform in [0, 1]) and a sample is its class prototype plus Gaussian noise, clamped to [0, 1].
// Everything is a pure function of (seed, split, index) through RngStream::Synthetic, so samples
// can be produced in any order on any thread. Train and test share prototypes but not noise or
// labels.
#pragma once
#include <cstdint>
#include <vector>

#include "datasets/dataset.h"

namespace frugal {

class SyntheticDataset : public Dataset {
 public:
  static constexpr float kNoiseStddev = 0.3f;

  // ConfigError when the shape is not [C, H, W] with positive sizes, or classes/size are not
  // positive.
  SyntheticDataset(const std::vector<int64_t>& sample_shape, int64_t num_classes, int64_t size,
                   uint64_t seed, Split split);

  int64_t size() const override { return size_; }
  Shape sample_shape() const override { return shape_; }
  int64_t num_classes() const override { return num_classes_; }
  void get(int64_t index, float* image, int32_t* label) const override;
  std::string describe() const override;
  size_t storage_bytes() const override { return prototypes_.capacity() * sizeof(float); }

  int32_t label_of(int64_t index) const;
  // Writes class `label`'s prototype (C*H*W floats).
  void prototype(int32_t label, float* out) const;

 private:
  Shape shape_;
  int64_t num_classes_;
  int64_t size_;
  uint64_t seed_;
  Split split_;
  std::vector<float> prototypes_;  // cached when small, else recomputed per sample
};

}  // namespace frugal
