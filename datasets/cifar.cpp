#include "datasets/cifar.h"

#include "core/error.h"
#include "datasets/file_bytes.h"

namespace frugal {
namespace {

constexpr int64_t kCifar10Classes = 10, kCifar100Fine = 100, kCifar100Coarse = 20;

std::vector<std::string> split_file_names(CifarKind kind, Split split) {
  if (kind == CifarKind::Cifar100) return {split == Split::Train ? "train.bin" : "test.bin"};
  if (split == Split::Test) return {"test_batch.bin"};
  std::vector<std::string> names;
  for (int i = 1; i <= 5; ++i) names.push_back("data_batch_" + std::to_string(i) + ".bin");
  return names;
}

void check_label(int32_t label, int64_t num_classes, const char* which, int64_t record,
                 const std::string& path) {
  if (label >= num_classes)
    throw DataError("label out of range in " + path + ": record " + std::to_string(record) +
                    " has " + which + " label " + std::to_string(label) + ", expected [0, " +
                    std::to_string(num_classes) + ")");
}

}  // namespace

int64_t cifar_record_bytes(CifarKind kind) {
  return (kind == CifarKind::Cifar10 ? 1 : 2) + kCifarPixelBytes;
}

const char* cifar_name(CifarKind kind) {
  return kind == CifarKind::Cifar10 ? "cifar10" : "cifar100";
}

std::string find_cifar_dir(const std::string& path, CifarKind kind) {
  const char* subdir = kind == CifarKind::Cifar10 ? "cifar-10-batches-bin" : "cifar-100-binary";
  for (const std::string& dir : {path, join_path(path, subdir)}) {
    for (Split split : {Split::Train, Split::Test})
      if (path_exists(join_path(dir, split_file_names(kind, split)[0]))) return dir;
  }
  return "";
}

std::vector<std::string> cifar_split_files(const std::string& dir, CifarKind kind, Split split) {
  std::vector<std::string> files;
  for (const auto& name : split_file_names(kind, split)) {
    files.push_back(join_path(dir, name));
    if (!path_exists(files.back()))
      throw DataError(std::string(cifar_name(kind)) + " " + split_name(split) +
                      " file not found: " + files.back());
  }
  return files;
}

void read_cifar_file(const std::string& path, CifarKind kind, CifarRecords& out) {
  std::vector<uint8_t> bytes = read_file_bytes(path);
  const int64_t record = cifar_record_bytes(kind);
  const int64_t size = static_cast<int64_t>(bytes.size());
  if (size == 0 || size % record != 0)
    throw DataError(path + " has " + std::to_string(size) +
                    " bytes, not a positive multiple of the " + std::to_string(record) + "-byte " +
                    cifar_name(kind) + " record");
  const int64_t count = size / record;
  const size_t pixels_before = out.pixels.size();
  out.pixels.resize(pixels_before + static_cast<size_t>(count * kCifarPixelBytes));
  for (int64_t r = 0; r < count; ++r) {
    const uint8_t* rec = bytes.data() + r * record;
    if (kind == CifarKind::Cifar10) {
      check_label(rec[0], kCifar10Classes, "class", r, path);
      out.fine.push_back(rec[0]);
    } else {
      check_label(rec[0], kCifar100Coarse, "coarse", r, path);
      check_label(rec[1], kCifar100Fine, "fine", r, path);
      out.coarse.push_back(rec[0]);
      out.fine.push_back(rec[1]);
    }
    std::copy(
        rec + (record - kCifarPixelBytes), rec + record,
        out.pixels.begin() + static_cast<std::ptrdiff_t>(pixels_before + r * kCifarPixelBytes));
  }
}

std::unique_ptr<ByteImageDataset> open_cifar_dataset(const std::string& path, CifarKind kind,
                                                     Split split, bool coarse_labels,
                                                     int64_t limit) {
  std::string dir = find_cifar_dir(path, kind);
  const std::string expected = kind == CifarKind::Cifar10 ? "data_batch_1..5.bin and test_batch.bin"
                                                          : "train.bin and test.bin";
  if (dir.empty())
    throw DataError(std::string("no ") + cifar_name(kind) + " binary files in " + path +
                    ": expected " + expected + " there or in its " +
                    (kind == CifarKind::Cifar10 ? "cifar-10-batches-bin" : "cifar-100-binary") +
                    " subdirectory");
  // Every file must exist, but once `limit` records are in, the remaining files are not read.
  CifarRecords records;
  for (const auto& file : cifar_split_files(dir, kind, split)) {
    if (limit > 0 && static_cast<int64_t>(records.fine.size()) >= limit) break;
    read_cifar_file(file, kind, records);
  }
  std::vector<int32_t>& labels = coarse_labels ? records.coarse : records.fine;
  apply_limit(limit, kCifarPixelBytes, records.pixels, labels);
  const int64_t classes = kind == CifarKind::Cifar10 ? kCifar10Classes
                          : coarse_labels            ? kCifar100Coarse
                                                     : kCifar100Fine;
  std::string what = std::string(cifar_name(kind)) + (coarse_labels ? " (coarse)" : "") + " " +
                     split_name(split) + " " + dir;
  return std::make_unique<ByteImageDataset>(std::move(records.pixels), std::move(labels),
                                            Shape{3, kCifarSide, kCifarSide}, classes, what);
}

}  // namespace frugal
