#include "datasets/dataset.h"

#include <algorithm>

#include "core/error.h"
#include "datasets/cifar.h"
#include "datasets/idx.h"
#include "datasets/image_folder.h"
#include "datasets/synthetic.h"

namespace frugal {

const char* split_name(Split split) { return split == Split::Train ? "train" : "test"; }

const std::vector<std::string>& dataset_names() {
  static const std::vector<std::string> names = {"fashion_mnist", "mnist", "cifar10", "cifar100", "image_folder",
                                                 "synthetic"};
  return names;
}

void Dataset::get_random_resized_crop(int64_t, const RandomResizedCropOptions&, const RngKey&, float*,
                                      int32_t*) const {
  throw InternalError("random resized crop asked of a dataset that cannot cut photos: " + describe());
}

std::unique_ptr<Dataset> open_dataset(const DatasetOptions& opts, Split split) {
  const std::string& name = opts.dataset;
  if (opts.limit < 0)
    throw ConfigError(std::string("data.") + split_name(split) + "_limit must be >= 0 (0 = all samples), found " +
                      std::to_string(opts.limit));
  if (name == "synthetic")
    return std::make_unique<SyntheticDataset>(
        opts.synthetic_shape, opts.synthetic_classes,
        opts.limit > 0 ? std::min(opts.limit, opts.synthetic_size) : opts.synthetic_size, opts.seed,
        split);

  const auto& known = dataset_names();
  if (std::find(known.begin(), known.end(), name) == known.end()) {
    std::string valid;
    for (const std::string& n : known) valid += (valid.empty() ? "" : ", ") + n;
    throw ConfigError("data.dataset: unknown dataset '" + name + "', expected one of " + valid);
  }
  if (opts.path.empty()) throw ConfigError("data.path is required for dataset '" + name + "'");
  if (name == "mnist" || name == "fashion_mnist")
    return open_idx_dataset(name, opts.path, split, /*num_classes=*/10, opts.limit);
  if (name == "cifar10")
    return open_cifar_dataset(opts.path, CifarKind::Cifar10, split, false, opts.limit);
  if (name == "cifar100") {
    if (opts.label_type != "fine" && opts.label_type != "coarse")
      throw ConfigError("data.label_type must be 'fine' or 'coarse' for cifar100, found '" +
                        opts.label_type + "'");
    return open_cifar_dataset(opts.path, CifarKind::Cifar100, split, opts.label_type == "coarse",
                              opts.limit);
  }
  ImageFolderOptions folder;
  folder.image_size = opts.image_size;
  folder.limit = opts.limit;
  folder.skip_corrupt = opts.skip_corrupt;
  return std::make_unique<ImageFolderDataset>(opts.path, split, folder);
}

}  // namespace frugal
