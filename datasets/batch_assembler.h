// Fills one batch buffer from a dataset: fetch each sample, augment it, normalise it. Work is split
// statically over `workers` OpenMP threads; each sample's result depends only on its position in
// the epoch, so the split never changes the output. All scratch memory is allocated up front.
#pragma once
#include <cstdint>
#include <exception>
#include <vector>

#include "core/shape.h"
#include "datasets/augment.h"
#include "datasets/dataset.h"

namespace frugal {

class BatchAssembler {
 public:
  // mean/std: empty, or one value per channel (std > 0). ConfigError otherwise.
  BatchAssembler(const Dataset& data, AugmentOptions augment, std::vector<float> mean,
                 std::vector<float> std, uint64_t seed, int workers);

  // Writes the samples at epoch positions [first_position, first_position + count), whose dataset
  // indices are order[first_position..], to images [count, C, H, W] and labels [count].
  void assemble(int64_t epoch, const std::vector<int64_t>& order, int64_t first_position,
                int64_t count, float* images, int32_t* labels);

 private:
  void assemble_one(int64_t epoch, const RngKey& epoch_key, int64_t index, int64_t position, float* image,
                    int32_t* label, float* scratch) const;

  const Dataset& data_;
  Shape chw_;
  int64_t sample_numel_;
  AugmentOptions augment_;
  std::vector<float> mean_, std_;
  uint64_t seed_;
  int workers_;
  std::vector<float> scratch_;              // one sample per worker, for augmentation
  std::vector<std::exception_ptr> errors_;  // first error of each worker
  std::vector<int64_t> error_positions_;
};

}  // namespace frugal
