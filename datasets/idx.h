// IDX files (MNIST, Fashion-MNIST): a big-endian header — magic 0x000008NN (unsigned bytes, NN
// dimensions), then NN 32-bit sizes — followed by the values. Images are 0x00000803 [N, H, W],
// labels 0x00000801 [N]. Files may be plain or gzip.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "datasets/byte_image_dataset.h"
#include "datasets/dataset.h"

namespace frugal {

constexpr uint32_t kIdxImagesMagic = 0x00000803;
constexpr uint32_t kIdxLabelsMagic = 0x00000801;

struct IdxArray {
  std::vector<int64_t> dims;
  std::vector<uint8_t> values;  // product(dims) bytes, row-major
};

// Reads an unsigned-byte IDX file and checks its magic and that it holds exactly the bytes its
// header promises. DataError naming the file otherwise.
IdxArray read_idx(const std::string& path, uint32_t expected_magic);

// Big-endian magic of an IDX file's first four bytes (reads only the header); DataError when the
// file is missing or shorter than four bytes.
uint32_t peek_idx_magic(const std::string& path);

struct IdxSplitFiles {
  std::string images, labels;
};
// Finds `train-images-idx3-ubyte[.gz]` + `train-labels-idx1-ubyte[.gz]` (or t10k-* for Test) in dir
// or dir/raw; the `train-images.idx3-ubyte` spelling is accepted too. DataError when missing.
IdxSplitFiles find_idx_files(const std::string& dir, Split split);
// True when dir holds at least the train or test pair.
bool has_idx_files(const std::string& dir);

// The MNIST-style split in `dir`: [1, H, W] images, labels checked against [0, num_classes).
std::unique_ptr<ByteImageDataset> open_idx_dataset(const std::string& name, const std::string& dir,
                                                   Split split, int64_t num_classes, int64_t limit);

}  // namespace frugal
