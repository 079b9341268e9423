#include "tests/datasets/test_files.h"

#include <stdlib.h>
#include <zlib.h>

#include <filesystem>
#include <stdexcept>

// clang-format off
#include <cstddef>  // jpeglib.h needs size_t and FILE declared first
#include <cstdio>
#include <jpeglib.h>
// clang-format on
#include <png.h>

#include <cstring>

namespace frugal::testing {
namespace fs = std::filesystem;

TempDir::TempDir() {
  std::string pattern = (fs::temp_directory_path() / "frugal-datasets-XXXXXX").string();
  if (!mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp failed for " + pattern);
  path_ = pattern;
}

TempDir::~TempDir() {
  std::error_code ec;
  fs::remove_all(path_, ec);
}

std::string TempDir::file(const std::string& relative) const {
  fs::path p = fs::path(path_) / relative;
  fs::create_directories(p.parent_path());
  return p.string();
}

void write_file(const std::string& path, const Bytes& bytes) {
  FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) throw std::runtime_error("cannot write " + path);
  if (!bytes.empty()) std::fwrite(bytes.data(), 1, bytes.size(), f);
  std::fclose(f);
}

void write_gzip(const std::string& path, const Bytes& bytes) {
  gzFile f = gzopen(path.c_str(), "wb");
  if (!f) throw std::runtime_error("cannot write " + path);
  if (!bytes.empty()) gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size()));
  gzclose(f);
}

Bytes idx_bytes(const std::vector<uint32_t>& dims, const Bytes& values) {
  Bytes out{0, 0, 0x08, static_cast<uint8_t>(dims.size())};
  for (uint32_t d : dims)
    for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<uint8_t>(d >> shift));
  out.insert(out.end(), values.begin(), values.end());
  return out;
}

Bytes idx_images(uint32_t n, uint32_t h, uint32_t w,
                 const std::function<uint8_t(uint32_t, uint32_t, uint32_t)>& pixel) {
  Bytes values;
  for (uint32_t i = 0; i < n; ++i)
    for (uint32_t y = 0; y < h; ++y)
      for (uint32_t x = 0; x < w; ++x) values.push_back(pixel(i, y, x));
  return idx_bytes({n, h, w}, values);
}

Bytes idx_labels(const Bytes& labels) {
  return idx_bytes({static_cast<uint32_t>(labels.size())}, labels);
}

uint8_t cifar_pixel(int record, int p) { return static_cast<uint8_t>((record * 37 + p * 5) % 256); }

Bytes cifar10_records(const std::vector<uint8_t>& labels, int first_record) {
  Bytes out;
  for (size_t r = 0; r < labels.size(); ++r) {
    out.push_back(labels[r]);
    for (int p = 0; p < 3072; ++p)
      out.push_back(cifar_pixel(first_record + static_cast<int>(r), p));
  }
  return out;
}

Bytes cifar100_records(const std::vector<std::pair<uint8_t, uint8_t>>& coarse_fine,
                       int first_record) {
  Bytes out;
  for (size_t r = 0; r < coarse_fine.size(); ++r) {
    out.push_back(coarse_fine[r].first);
    out.push_back(coarse_fine[r].second);
    for (int p = 0; p < 3072; ++p)
      out.push_back(cifar_pixel(first_record + static_cast<int>(r), p));
  }
  return out;
}

void write_jpeg(const std::string& path, int width, int height, const Bytes& pixels, int channels,
                int quality) {
  FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) throw std::runtime_error("cannot write " + path);
  jpeg_compress_struct cinfo;
  jpeg_error_mgr err;
  cinfo.err = jpeg_std_error(&err);
  jpeg_create_compress(&cinfo);
  jpeg_stdio_dest(&cinfo, f);
  cinfo.image_width = static_cast<JDIMENSION>(width);
  cinfo.image_height = static_cast<JDIMENSION>(height);
  cinfo.input_components = channels;
  cinfo.in_color_space = channels == 1 ? JCS_GRAYSCALE : JCS_RGB;
  jpeg_set_defaults(&cinfo);
  jpeg_set_quality(&cinfo, quality, TRUE);
  jpeg_start_compress(&cinfo, TRUE);
  while (cinfo.next_scanline < cinfo.image_height) {
    JSAMPROW row = const_cast<uint8_t*>(pixels.data()) +
                   static_cast<size_t>(cinfo.next_scanline) * width * channels;
    jpeg_write_scanlines(&cinfo, &row, 1);
  }
  jpeg_finish_compress(&cinfo);
  jpeg_destroy_compress(&cinfo);
  std::fclose(f);
}

void write_jpeg_as(const std::string& path, int width, int height, const Bytes& pixels, const JpegEncoding& enc) {
  FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) throw std::runtime_error("cannot write " + path);
  jpeg_compress_struct cinfo;
  jpeg_error_mgr err;
  cinfo.err = jpeg_std_error(&err);
  jpeg_create_compress(&cinfo);
  jpeg_stdio_dest(&cinfo, f);
  cinfo.image_width = static_cast<JDIMENSION>(width);
  cinfo.image_height = static_cast<JDIMENSION>(height);
  cinfo.input_components = enc.channels;
  cinfo.in_color_space = enc.channels == 1 ? JCS_GRAYSCALE : enc.channels == 4 ? JCS_CMYK : JCS_RGB;
  jpeg_set_defaults(&cinfo);
  if (enc.channels == 4) jpeg_set_colorspace(&cinfo, JCS_YCCK);  // writes the Adobe marker
  jpeg_set_quality(&cinfo, enc.quality, TRUE);
  if (enc.progressive) jpeg_simple_progression(&cinfo);
  jpeg_start_compress(&cinfo, TRUE);
  while (cinfo.next_scanline < cinfo.image_height) {
    JSAMPROW row = const_cast<uint8_t*>(pixels.data()) +
                   static_cast<size_t>(cinfo.next_scanline) * width * enc.channels;
    jpeg_write_scanlines(&cinfo, &row, 1);
  }
  jpeg_finish_compress(&cinfo);
  jpeg_destroy_compress(&cinfo);
  std::fclose(f);
}

void write_png(const std::string& path, int width, int height, const Bytes& pixels, int channels) {
  png_image image;
  std::memset(&image, 0, sizeof image);
  image.version = PNG_IMAGE_VERSION;
  image.width = static_cast<png_uint_32>(width);
  image.height = static_cast<png_uint_32>(height);
  image.format = channels == 1 ? PNG_FORMAT_GRAY : channels == 4 ? PNG_FORMAT_RGBA : PNG_FORMAT_RGB;
  if (!png_image_write_to_file(&image, path.c_str(), 0, pixels.data(), 0, nullptr))
    throw std::runtime_error("cannot write " + path + ": " + image.message);
}

Bytes solid_rgb(int width, int height, uint8_t r, uint8_t g, uint8_t b) {
  Bytes out;
  for (int i = 0; i < width * height; ++i) out.insert(out.end(), {r, g, b});
  return out;
}

bool contains_all(const std::string& text, std::initializer_list<std::string> parts) {
  for (const auto& part : parts)
    if (text.find(part) == std::string::npos) return false;
  return true;
}

std::vector<float> sample_of(const Dataset& data, int64_t index, int32_t* label) {
  std::vector<float> image(static_cast<size_t>(data.sample_shape().numel()));
  int32_t ignored = 0;
  data.get(index, image.data(), label ? label : &ignored);
  return image;
}

}  // namespace frugal::testing
