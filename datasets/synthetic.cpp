#include "datasets/synthetic.h"

#include <algorithm>

#include "core/error.h"
#include "core/rng.h"
#include "datasets/byte_image_dataset.h"

namespace frugal {
namespace {

// Draw numbers under RngStream::Synthetic: what is drawn in the top byte, the split below it.
enum Draw : uint64_t { kLabels = 1, kPrototype = 2, kNoise = 3 };
uint64_t draw_step(Draw draw, Split split, uint64_t id) {
  return (uint64_t{draw} << 56) | (uint64_t{split == Split::Train ? 0u : 1u} << 48) | id;
}

constexpr size_t kMaxCachedPrototypeFloats = size_t{16} << 20;  // 64 MiB

}  // namespace

SyntheticDataset::SyntheticDataset(const std::vector<int64_t>& sample_shape, int64_t num_classes,
                                   int64_t size, uint64_t seed, Split split)
    : num_classes_(num_classes), size_(size), seed_(seed), split_(split) {
  const bool shape_ok =
      sample_shape.size() == 3 &&
      std::all_of(sample_shape.begin(), sample_shape.end(), [](int64_t d) { return d > 0; });
  if (!shape_ok)
    throw ConfigError(
        "data.synthetic.shape must be [C, H, W] with positive sizes, found " +
        Shape(sample_shape.size() <= Shape::kMaxDims ? sample_shape : std::vector<int64_t>{})
            .str());
  if (num_classes <= 0)
    throw ConfigError("data.synthetic.classes must be positive, found " +
                      std::to_string(num_classes));
  if (size <= 0)
    throw ConfigError("data.synthetic.train_size and test_size must be positive, found " + std::to_string(size));
  shape_ = Shape(sample_shape);
  const size_t n = static_cast<size_t>(shape_.numel());
  // Divided, not multiplied: n * num_classes can wrap to a small number and size an empty cache.
  if (static_cast<size_t>(num_classes) <= kMaxCachedPrototypeFloats / n) {
    prototypes_.resize(n * static_cast<size_t>(num_classes));
    for (int64_t c = 0; c < num_classes; ++c)
      prototype(static_cast<int32_t>(c), prototypes_.data() + static_cast<size_t>(c) * n);
  }
}

int32_t SyntheticDataset::label_of(int64_t index) const {
  const RngKey key = rng_key(seed_, RngStream::Synthetic, draw_step(kLabels, split_, 0));
  const uint32_t bits = philox4x32(key, static_cast<uint64_t>(index))[0];
  return static_cast<int32_t>((uint64_t{bits} * static_cast<uint64_t>(num_classes_)) >> 32);
}

void SyntheticDataset::prototype(int32_t label, float* out) const {
  // Prototypes do not depend on the split: train and test are the same task.
  const RngKey key = rng_key(seed_, RngStream::Synthetic,
                             draw_step(kPrototype, Split::Train, static_cast<uint64_t>(label)));
  rng_uniform(key, out, static_cast<size_t>(shape_.numel()));
}

void SyntheticDataset::get(int64_t index, float* image, int32_t* label) const {
  check_sample_index(index, size_, "synthetic dataset");
  const int32_t cls = label_of(index);
  const size_t n = static_cast<size_t>(shape_.numel());
  rng_normal(
      rng_key(seed_, RngStream::Synthetic, draw_step(kNoise, split_, static_cast<uint64_t>(index))),
      image, n, 0.0f, kNoiseStddev);
  std::vector<float> computed;
  const float* proto = nullptr;
  if (!prototypes_.empty()) {
    proto = prototypes_.data() + static_cast<size_t>(cls) * n;
  } else {
    computed.resize(n);
    prototype(cls, computed.data());
    proto = computed.data();
  }
  for (size_t i = 0; i < n; ++i) image[i] = std::clamp(image[i] + proto[i], 0.0f, 1.0f);
  *label = cls;
}

std::string SyntheticDataset::describe() const {
  return std::string("synthetic ") + split_name(split_) + " (seed " + std::to_string(seed_) +
         "): " + std::to_string(size_) + " samples, " + shape_.str() + ", " +
         std::to_string(num_classes_) + " classes";
}

}  // namespace frugal
