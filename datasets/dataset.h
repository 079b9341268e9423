// Datasets: images with integer labels, read from their real on-disk formats (IDX, CIFAR binary,
// JPEG image folders) or generated (synthetic). A Dataset is immutable after opening; get() is
// const and safe to call from several threads at once, which the loader relies on.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/rng.h"
#include "core/shape.h"
#include "datasets/crop_geometry.h"

namespace frugal {

class Dataset {
 public:
  virtual ~Dataset() = default;
  virtual int64_t size() const = 0;
  virtual Shape sample_shape() const = 0;  // [C, H, W]
  virtual int64_t num_classes() const = 0;
  // Writes sample `index` as floats in [0, 1] (C*H*W, CHW order) and its label.
  virtual void get(int64_t index, float* image, int32_t* label) const = 0;
  virtual std::string describe() const = 0;  // one line: format, path, count, shape, classes
  // Bytes the dataset holds in memory (pixels, labels, file lists), for the process memory report.
  virtual size_t storage_bytes() const { return 0; }

  // RandomResizedCrop must cut the original photo before it is resized to the sample shape, so only
  // datasets of photos of any size (image_folder) support it; the others keep these defaults.
  virtual bool supports_random_resized_crop() const { return false; }
  // Sample `index` cut by random_resized_crop_rect with draws from RngSequence(key) and resized to
  // sample_shape(). The default throws InternalError (the loader checks support first).
  virtual void get_random_resized_crop(int64_t index, const RandomResizedCropOptions& crop, const RngKey& key,
                                       float* image, int32_t* label) const;
  // How many times a sample was replaced because its file could not be decoded (image_folder with
  // data.corrupt_images = "skip"), since the dataset was opened. Safe to call while loading.
  virtual int64_t replaced_samples() const { return 0; }
};

enum class Split { Train, Test };
const char* split_name(Split split);  // "train" / "test"

// The names DatasetOptions::dataset takes, in the order the config schema lists them.
const std::vector<std::string>& dataset_names();

// Filled by the trainer from the config's "data" section.
struct DatasetOptions {
  std::string dataset;  // "fashion_mnist","mnist","cifar10","cifar100","image_folder","synthetic"
  std::string path;     // directory (already resolved to absolute)
  std::string label_type = "fine";  // cifar100: fine|coarse
  int64_t limit = 0;                // use only the first `limit` samples (0 = all)
  int64_t image_size = 0;     // image_folder: output side (shorter side resized to size*8/7, center crop)
  bool skip_corrupt = false;  // image_folder: replace an undecodable image by the next one (else DataError)
  std::vector<int64_t> synthetic_shape{1, 28, 28};
  int64_t synthetic_classes = 10;
  int64_t synthetic_size = 2048;  // samples per split
  uint64_t seed = 0;
};

// Opens the split named by opts.dataset. Unknown names and bad options are ConfigErrors; missing or
// malformed files are DataErrors naming the file.
std::unique_ptr<Dataset> open_dataset(const DatasetOptions& opts, Split split);

// For `frugal data info PATH`: detects the format (an IDX file, plain or .gz; a directory with
// MNIST-style IDX files; CIFAR-10/100 binary files or directory; an image folder) and returns a
// multi-line human summary (counts, shape, classes, label histogram). DataError when nothing fits.
std::string describe_data_path(const std::string& path);

}  // namespace frugal
