#include "datasets/batch_assembler.h"

#include <omp.h>

#include <string>

#include "core/error.h"

namespace frugal {

BatchAssembler::BatchAssembler(const Dataset& data, AugmentOptions augment, std::vector<float> mean,
                               std::vector<float> std, uint64_t seed, int workers)
    : data_(data),
      chw_(data.sample_shape()),
      sample_numel_(chw_.numel()),
      augment_(augment),
      mean_(std::move(mean)),
      std_(std::move(std)),
      seed_(seed),
      workers_(workers) {
  const int64_t channels = chw_[0];
  if (mean_.empty() != std_.empty() ||
      (!mean_.empty() && (static_cast<int64_t>(mean_.size()) != channels ||
                          static_cast<int64_t>(std_.size()) != channels)))
    throw ConfigError("data.normalize.mean and data.normalize.std need one value per channel of " + chw_.str() +
                      " (or both empty), found " + std::to_string(mean_.size()) + " and " +
                      std::to_string(std_.size()));
  for (size_t c = 0; c < std_.size(); ++c)
    if (!(std_[c] > 0.0f))
      throw ConfigError("data.normalize.std[" + std::to_string(c) + "] must be positive, found " +
                        std::to_string(std_[c]));
  if (augment_.crop_padding < 0)
    throw ConfigError("data.augment.crop_padding must be >= 0, found " +
                      std::to_string(augment_.crop_padding));
  if (workers_ < 1)
    throw ConfigError("data.workers must be >= 1, found " + std::to_string(workers_));
  if (augment_.random_resized_crop) {
    const RandomResizedCropOptions& c = augment_.crop;
    if (!data_.supports_random_resized_crop())
      throw ConfigError("data.augment.random_resized_crop needs photos to cut (dataset image_folder), found " +
                        data_.describe());
    if (!(c.scale_min > 0 && c.scale_min <= c.scale_max && c.scale_max <= 1))
      throw ConfigError("data.augment.crop_scale must be [min, max] with 0 < min <= max <= 1, found [" +
                        std::to_string(c.scale_min) + ", " + std::to_string(c.scale_max) + "]");
    if (!(c.ratio_min > 0 && c.ratio_min <= c.ratio_max))
      throw ConfigError("data.augment.crop_ratio must be [min, max] with 0 < min <= max, found [" +
                        std::to_string(c.ratio_min) + ", " + std::to_string(c.ratio_max) + "]");
  }
  if (augment_.enabled()) scratch_.resize(static_cast<size_t>(workers_ * sample_numel_));
  errors_.resize(static_cast<size_t>(workers_));
  error_positions_.resize(static_cast<size_t>(workers_));
}

void BatchAssembler::assemble_one(int64_t epoch, const RngKey& epoch_key, int64_t index, int64_t position,
                                  float* image, int32_t* label, float* scratch) const {
  float* raw = augment_.enabled() ? scratch : image;
  if (augment_.random_resized_crop)
    data_.get_random_resized_crop(index, augment_.crop, crop_key(seed_, epoch, index), raw, label);
  else
    data_.get(index, raw, label);
  if (augment_.enabled()) {
    const SampleAugment aug = draw_sample_augment(epoch_key, position, augment_);
    apply_sample_augment(aug, augment_, chw_, scratch, image);
  }
  if (!mean_.empty()) normalize_channels(image, chw_, mean_.data(), std_.data());
}

void BatchAssembler::assemble(int64_t epoch, const std::vector<int64_t>& order,
                              int64_t first_position, int64_t count, float* images,
                              int32_t* labels) {
  const RngKey epoch_key = augment_key(seed_, epoch);
  for (auto& e : errors_) e = nullptr;
    // Exceptions must not leave an OpenMP region: each worker keeps its first one.
#pragma omp parallel for schedule(static) num_threads(workers_) if (workers_ > 1 && count > 1)
  for (int64_t i = 0; i < count; ++i) {
    const size_t worker = static_cast<size_t>(omp_get_thread_num());
    if (errors_[worker]) continue;
    const int64_t position = first_position + i;
    try {
      float* scratch = scratch_.empty() ? nullptr : scratch_.data() + worker * sample_numel_;
      assemble_one(epoch, epoch_key, order[static_cast<size_t>(position)], position,
                   images + i * sample_numel_, labels + i, scratch);
    } catch (...) {
      errors_[worker] = std::current_exception();
      error_positions_[worker] = position;
    }
  }
  // Report the failing sample that comes first, whatever the thread count.
  std::exception_ptr first;
  int64_t first_position_failed = 0;
  for (size_t w = 0; w < errors_.size(); ++w)
    if (errors_[w] && (!first || error_positions_[w] < first_position_failed)) {
      first = errors_[w];
      first_position_failed = error_positions_[w];
    }
  if (first) std::rethrow_exception(first);
}

}  // namespace frugal
