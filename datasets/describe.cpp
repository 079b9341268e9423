// `frugal data info PATH`: format detection and a human summary of what a data path holds.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>

#include "core/error.h"
#include "datasets/byte_image_dataset.h"
#include "datasets/cifar.h"
#include "datasets/dataset.h"
#include "datasets/file_bytes.h"
#include "datasets/idx.h"
#include "datasets/image_folder.h"
#include "datasets/jpeg.h"

namespace frugal {
namespace {

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::string base_name(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

// Per-channel mean and standard deviation of pixels scaled to [0, 1]: what data.mean / data.std
// want.
std::string pixel_stats(const std::vector<uint8_t>& pixels, int64_t channels, int64_t plane) {
  const int64_t sample = channels * plane;
  const int64_t count = sample == 0 ? 0 : static_cast<int64_t>(pixels.size()) / sample;
  std::string means = "[", stds = "[";
  char buf[32];
  for (int64_t c = 0; c < channels; ++c) {
    double sum = 0, sum_sq = 0;
    for (int64_t i = 0; i < count; ++i) {
      const uint8_t* p = pixels.data() + i * sample + c * plane;
      for (int64_t j = 0; j < plane; ++j) {
        sum += p[j];
        sum_sq += static_cast<double>(p[j]) * p[j];
      }
    }
    const double n = std::max<double>(1.0, double(count) * plane);
    const double mean = sum / n, var = std::max(0.0, sum_sq / n - mean * mean);
    std::snprintf(buf, sizeof buf, "%s%.4f", c ? ", " : "", mean / 255.0);
    means += buf;
    std::snprintf(buf, sizeof buf, "%s%.4f", c ? ", " : "", std::sqrt(var) / 255.0);
    stds += buf;
  }
  return "pixel mean " + means + "]  std " + stds + "]";
}

int64_t classes_seen(const std::vector<int32_t>& labels) {
  int32_t top = -1;
  for (int32_t l : labels) top = std::max(top, l);
  return top + 1;
}

std::string describe_idx_split(const std::string& dir, Split split) {
  IdxSplitFiles files = find_idx_files(dir, split);
  IdxArray images = read_idx(files.images, kIdxImagesMagic);
  IdxArray labels = read_idx(files.labels, kIdxLabelsMagic);
  std::vector<int32_t> label_values(labels.values.begin(), labels.values.end());
  std::ostringstream out;
  out << "  " << split_name(split) << ": " << images.dims[0] << " images "
      << Shape({1, images.dims[1], images.dims[2]}).str() << ", " << classes_seen(label_values)
      << " classes\n"
      << "    images: " << files.images << "\n    labels: " << files.labels << "\n";
  if (labels.dims[0] != images.dims[0])
    out << "    WARNING: " << labels.dims[0] << " labels for " << images.dims[0] << " images\n";
  out << "    " << pixel_stats(images.values, 1, images.dims[1] * images.dims[2]) << "\n"
      << "    label histogram:\n"
      << label_histogram(label_values, classes_seen(label_values)) << "\n";
  return out.str();
}

std::string describe_idx_dir(const std::string& dir) {
  std::string out = "IDX (MNIST-style) directory " + dir + "\n";
  for (Split split : {Split::Train, Split::Test}) {
    try {
      out += describe_idx_split(dir, split);
    } catch (const DataError& e) {
      out += std::string("  ") + split_name(split) + ": " + e.what() + "\n";
    }
  }
  return out;
}

std::string describe_idx_file(const std::string& path) {
  const uint32_t magic = peek_idx_magic(path);
  std::ostringstream out;
  const char* packing = ends_with(path, ".gz") ? " (gzip)" : "";
  if (magic == kIdxImagesMagic) {
    IdxArray images = read_idx(path, magic);
    out << "IDX images file " << path << packing << "\n  images: " << images.dims[0]
        << "\n  shape: " << Shape({1, images.dims[1], images.dims[2]}).str() << "\n  "
        << pixel_stats(images.values, 1, images.dims[1] * images.dims[2]) << "\n";
  } else if (magic == kIdxLabelsMagic) {
    IdxArray labels = read_idx(path, magic);
    std::vector<int32_t> values(labels.values.begin(), labels.values.end());
    out << "IDX labels file " << path << packing << "\n  labels: " << labels.dims[0]
        << "\n  classes: " << classes_seen(values) << "\n  label histogram:\n"
        << label_histogram(values, classes_seen(values)) << "\n";
  } else {
    char hex[16];
    std::snprintf(hex, sizeof hex, "0x%08X", magic);
    throw DataError("unrecognised data file " + path + ": magic number " + hex +
                    " is neither IDX images (0x00000803) nor IDX labels (0x00000801), and the name "
                    "is not a CIFAR .bin or a JPEG");
  }
  return out.str();
}

std::string describe_cifar_records(const CifarRecords& records, CifarKind kind) {
  std::ostringstream out;
  out << records.fine.size() << " images [3, 32, 32]\n    "
      << pixel_stats(records.pixels, 3, kCifarSide * kCifarSide) << "\n";
  if (kind == CifarKind::Cifar10) {
    out << "    label histogram (10 classes):\n" << label_histogram(records.fine, 10) << "\n";
  } else {
    out << "    coarse label histogram (20 classes):\n"
        << label_histogram(records.coarse, 20) << "\n    fine label histogram (100 classes):\n"
        << label_histogram(records.fine, 100) << "\n";
  }
  return out.str();
}

std::string describe_cifar_dir(const std::string& dir, CifarKind kind) {
  std::string out = std::string(kind == CifarKind::Cifar10 ? "CIFAR-10" : "CIFAR-100") +
                    " binary directory " + dir + "\n";
  for (Split split : {Split::Train, Split::Test}) {
    out += std::string("  ") + split_name(split) + ": ";
    try {
      CifarRecords records;
      for (const auto& file : cifar_split_files(dir, kind, split))
        read_cifar_file(file, kind, records);
      out += describe_cifar_records(records, kind);
    } catch (const DataError& e) {
      out += std::string(e.what()) + "\n";
    }
  }
  return out;
}

std::string describe_cifar_file(const std::string& path) {
  const std::string name = base_name(path);
  CifarKind kind = CifarKind::Cifar10;
  if (name == "train.bin" || name == "test.bin") kind = CifarKind::Cifar100;
  CifarRecords records;
  read_cifar_file(path, kind, records);
  return std::string(kind == CifarKind::Cifar10 ? "CIFAR-10" : "CIFAR-100") + " binary file " +
         path + "\n  " + describe_cifar_records(records, kind);
}

std::string describe_image_split(const ImageFolderIndex& index, const char* title) {
  std::ostringstream out;
  out << "  " << title << ": " << index.files.size() << " JPEG files in " << index.classes.size()
      << " classes (" << index.dir << ")\n";
  std::vector<int64_t> per_class(index.classes.size(), 0);
  for (int32_t l : index.labels) ++per_class[static_cast<size_t>(l)];
  const auto [lo, hi] = std::minmax_element(per_class.begin(), per_class.end());
  out << "    images per class: min " << *lo << ", max " << *hi << "\n";
  if (index.classes.size() <= 100) {
    out << "    classes:";
    for (size_t c = 0; c < index.classes.size(); ++c)
      out << (c % 6 == 0 ? "\n     " : "") << " " << c << "=" << index.classes[c] << "("
          << per_class[c] << ")";
    out << "\n";
  }
  return out.str();
}

std::string describe_image_folder(const std::string& root) {
  std::string out = "image folder " + root +
                    "\n  shape: [3, S, S] after resizing and cropping to data.image_size = S\n";
  const std::string train_dir = image_folder_split_dir(root, Split::Train);
  ImageFolderIndex train;
  if (!train_dir.empty()) {
    train = index_image_folder(train_dir);
    out += describe_image_split(train, "train");
  }
  const std::string test_dir = image_folder_split_dir(root, Split::Test);
  if (!test_dir.empty())
    out += describe_image_split(
        index_image_folder(test_dir, train_dir.empty() ? nullptr : &train.classes), "test");
  return out;
}

bool has_jpeg_class_dirs(const std::string& dir) {
  try {
    index_image_folder(dir);
    return true;
  } catch (const DataError&) {
    return false;
  }
}

}  // namespace

std::string describe_data_path(const std::string& path) {
  if (!path_exists(path)) throw DataError("no such file or directory: " + path);
  if (!is_directory(path)) {
    if (ends_with(path, ".bin")) return describe_cifar_file(path);
    if (is_jpeg_name(path)) {
      RgbImage image = decode_jpeg_file(path);
      return "JPEG image " + path + "\n  size: " + std::to_string(image.width) + "x" +
             std::to_string(image.height) + " (width x height), decoded as RGB\n";
    }
    return describe_idx_file(path);
  }
  if (has_idx_files(path)) return describe_idx_dir(path);
  for (CifarKind kind : {CifarKind::Cifar10, CifarKind::Cifar100}) {
    const std::string dir = find_cifar_dir(path, kind);
    if (!dir.empty()) return describe_cifar_dir(dir, kind);
  }
  if (!image_folder_split_dir(path, Split::Train).empty() ||
      !image_folder_split_dir(path, Split::Test).empty())
    return describe_image_folder(path);
  if (has_jpeg_class_dirs(path))
    return "image folder split " + path + "\n" +
           describe_image_split(index_image_folder(path), "split");
  throw DataError(
      "could not detect a dataset format in " + path +
      ": expected MNIST-style IDX files (train-images-idx3-ubyte[.gz], ...), CIFAR binary "
      "files (data_batch_1.bin ... or train.bin/test.bin), or an image folder "
      "(train/<class>/*.jpg)");
}

}  // namespace frugal
