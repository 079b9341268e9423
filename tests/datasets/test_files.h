// Helpers that write small files in the real dataset formats into a temporary directory.
#pragma once
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <string>
#include <vector>

#include "datasets/dataset.h"

namespace frugal::testing {

// A fresh directory under the system temp dir, removed with everything in it on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  // path()/relative, creating parent directories.
  std::string file(const std::string& relative) const;

 private:
  std::string path_;
};

using Bytes = std::vector<uint8_t>;

void write_file(const std::string& path, const Bytes& bytes);
void write_gzip(const std::string& path, const Bytes& bytes);

// An IDX file: big-endian magic 0x000008NN, NN sizes, then the values.
Bytes idx_bytes(const std::vector<uint32_t>& dims, const Bytes& values);
// n images of h x w whose pixel (i, y, x) is pixel(i, y, x).
Bytes idx_images(uint32_t n, uint32_t h, uint32_t w,
                 const std::function<uint8_t(uint32_t, uint32_t, uint32_t)>& pixel);
Bytes idx_labels(const Bytes& labels);

// Pixel byte p (0..3071, CHW) of CIFAR record r in a test file: a pattern that differs per record.
uint8_t cifar_pixel(int record, int p);
// CIFAR-10 records: label byte + 3072 pixels; CIFAR-100: coarse, fine + 3072 pixels. `first_record`
// offsets cifar_pixel's record number so records in different files differ.
Bytes cifar10_records(const std::vector<uint8_t>& labels, int first_record = 0);
Bytes cifar100_records(const std::vector<std::pair<uint8_t, uint8_t>>& coarse_fine,
                       int first_record = 0);

// Writes a baseline JPEG with libjpeg: pixels are HWC (3 channels, or 1 for grayscale).
void write_jpeg(const std::string& path, int width, int height, const Bytes& pixels,
                int channels = 3, int quality = 95);
// The same with libjpeg's other encodings: `cmyk` writes 4-channel pixels as an Adobe CMYK JPEG
// (values stored inverted, as Photoshop does), `progressive` a progressive JPEG.
struct JpegEncoding {
  int channels = 3;  // 1 grey, 3 RGB, 4 CMYK
  int quality = 95;
  bool progressive = false;
};
void write_jpeg_as(const std::string& path, int width, int height, const Bytes& pixels, const JpegEncoding& enc);
// A PNG with libpng: channels 1 (grey), 3 (RGB) or 4 (RGBA).
void write_png(const std::string& path, int width, int height, const Bytes& pixels, int channels);
// A width x height image filled with one RGB color.
Bytes solid_rgb(int width, int height, uint8_t r, uint8_t g, uint8_t b);

// True when `text` contains every one of `parts`; on failure, the gtest message shows the text.
bool contains_all(const std::string& text, std::initializer_list<std::string> parts);

// A sample of `data` as a vector (C*H*W floats) and its label.
std::vector<float> sample_of(const Dataset& data, int64_t index, int32_t* label = nullptr);

}  // namespace frugal::testing

// Expects `statement` to throw ErrorType whose message contains each string in the braces.
#define EXPECT_THROW_WITH(statement, ErrorType, ...)                                   \
  do {                                                                                 \
    try {                                                                              \
      statement;                                                                       \
      ADD_FAILURE() << "expected " #ErrorType " from " #statement;                     \
    } catch (const ErrorType& e) {                                                     \
      EXPECT_TRUE(::frugal::testing::contains_all(e.what(), __VA_ARGS__)) << e.what(); \
    }                                                                                  \
  } while (0)
