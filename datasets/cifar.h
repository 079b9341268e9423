// CIFAR binary formats. CIFAR-10: data_batch_1..5.bin (train) and test_batch.bin, records of
// 1 label byte + 3072 pixel bytes (R, G, B planes of 32x32). CIFAR-100: train.bin / test.bin,
// records of coarse label byte + fine label byte + 3072 pixel bytes.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "datasets/byte_image_dataset.h"
#include "datasets/dataset.h"

namespace frugal {

enum class CifarKind { Cifar10, Cifar100 };

constexpr int64_t kCifarSide = 32;
constexpr int64_t kCifarPixelBytes = 3 * kCifarSide * kCifarSide;  // 3072

int64_t cifar_record_bytes(CifarKind kind);  // 3073 or 3074
const char* cifar_name(CifarKind kind);      // "cifar10" / "cifar100"

// `path` itself or its cifar-10-batches-bin / cifar-100-binary subdirectory, whichever holds the
// kind's files; "" when neither does.
std::string find_cifar_dir(const std::string& path, CifarKind kind);

// The split's files in `dir`, in order. DataError naming the first missing one.
std::vector<std::string> cifar_split_files(const std::string& dir, CifarKind kind, Split split);

struct CifarRecords {
  std::vector<uint8_t> pixels;  // count * 3072, CHW
  std::vector<int32_t> coarse;  // CIFAR-100 only
  std::vector<int32_t> fine;    // the label (CIFAR-10) or the fine label (CIFAR-100)
};

// Appends the records of one file to `out`, checking the size and label ranges. DataError naming
// the file otherwise.
void read_cifar_file(const std::string& path, CifarKind kind, CifarRecords& out);

// coarse_labels: CIFAR-100's 20 superclasses instead of the 100 fine classes.
std::unique_ptr<ByteImageDataset> open_cifar_dataset(const std::string& path, CifarKind kind,
                                                     Split split, bool coarse_labels,
                                                     int64_t limit);

}  // namespace frugal
