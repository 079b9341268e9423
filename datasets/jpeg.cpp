#include "datasets/jpeg.h"

#include <algorithm>
#include <csetjmp>

// clang-format off
#include <cstddef>  // jpeglib.h needs size_t and FILE declared first
#include <cstdio>
#include <jpeglib.h>
#include <jerror.h>  // after jpeglib.h: the message codes
// clang-format on

#include "core/error.h"
#include "datasets/file_bytes.h"

namespace frugal {
namespace {

// libjpeg reports fatal errors through error_exit, which must not return; we longjmp back to the
// decode call (C++ exceptions must not cross libjpeg's C frames).
struct ErrorManager {
  jpeg_error_mgr base;
  std::jmp_buf jump;
  char message[JMSG_LENGTH_MAX];
};

void on_fatal_error(j_common_ptr cinfo) {
  auto* err = reinterpret_cast<ErrorManager*>(cinfo->err);
  (*cinfo->err->format_message)(cinfo, err->message);
  std::longjmp(err->jump, 1);
}

// Warnings (e.g. extraneous bytes before a marker) are common in real photo collections and the
// decoded image is still usable, so they are not printed from worker threads. Image data that ends
// early is an error, as in PIL: libjpeg would make up the missing rows, so that a few hundred bytes
// claiming a large image cost seconds of decoding and yield a gray picture.
void on_message(j_common_ptr cinfo, int level) {
  const int code = cinfo->err->msg_code;
  if (level < 0 && (code == JWRN_JPEG_EOF || code == JWRN_HIT_MARKER)) on_fatal_error(cinfo);
}

// Adobe CMYK JPEGs store inverted values: R = C * K / 255 with both already inverted.
void cmyk_to_rgb(const uint8_t* cmyk, uint8_t* rgb, int64_t pixels) {
  for (int64_t i = 0; i < pixels; ++i) {
    const int k = cmyk[4 * i + 3];
    for (int c = 0; c < 3; ++c) rgb[3 * i + c] = static_cast<uint8_t>(cmyk[4 * i + c] * k / 255);
  }
}

// Only trivially destructible locals live here, since longjmp skips destructors. Returns false with
// `message` filled on a libjpeg error.
bool decode_into(const uint8_t* data, size_t size, int64_t min_side, RgbImage* out,
                 std::vector<uint8_t>* cmyk_row, char* message) {
  jpeg_decompress_struct cinfo;
  ErrorManager err;
  cinfo.err = jpeg_std_error(&err.base);
  err.base.error_exit = on_fatal_error;
  err.base.emit_message = on_message;
  if (setjmp(err.jump)) {
    std::snprintf(message, JMSG_LENGTH_MAX, "%s", err.message);
    jpeg_destroy_decompress(&cinfo);
    return false;
  }
  jpeg_create_decompress(&cinfo);
  jpeg_mem_src(&cinfo, const_cast<unsigned char*>(data), static_cast<unsigned long>(size));
  jpeg_read_header(&cinfo, TRUE);
  if (uint64_t{cinfo.image_width} * cinfo.image_height > kMaxJpegPixels) {
    std::snprintf(message, JMSG_LENGTH_MAX, "%u x %u pixels, more than the %llu (2^27) frugal decodes",
                  cinfo.image_width, cinfo.image_height, static_cast<unsigned long long>(kMaxJpegPixels));
    jpeg_destroy_decompress(&cinfo);
    return false;
  }
  const bool cmyk = cinfo.jpeg_color_space == JCS_CMYK || cinfo.jpeg_color_space == JCS_YCCK;
  cinfo.out_color_space = cmyk ? JCS_CMYK : JCS_RGB;
  const int64_t short_side = std::min<int64_t>(cinfo.image_width, cinfo.image_height);
  int denom = 1;
  while (min_side > 0 && denom < 8 && short_side / (denom * 2) >= min_side) denom *= 2;
  cinfo.scale_num = 1;
  cinfo.scale_denom = static_cast<unsigned>(denom);
  jpeg_start_decompress(&cinfo);
  out->width = cinfo.output_width;
  out->height = cinfo.output_height;
  // Rows are added as they are decoded, so memory for a large image whose data turns out to be
  // missing is reserved but never touched.
  out->pixels.clear();
  out->pixels.reserve(static_cast<size_t>(out->width * out->height * 3));
  if (cmyk) cmyk_row->resize(static_cast<size_t>(out->width * 4));
  while (cinfo.output_scanline < cinfo.output_height) {
    out->pixels.resize(out->pixels.size() + static_cast<size_t>(out->width * 3));
    uint8_t* dst = out->pixels.data() + static_cast<size_t>(cinfo.output_scanline) * out->width * 3;
    JSAMPROW row = cmyk ? cmyk_row->data() : dst;
    jpeg_read_scanlines(&cinfo, &row, 1);
    if (cmyk) cmyk_to_rgb(cmyk_row->data(), dst, out->width);
  }
  jpeg_finish_decompress(&cinfo);
  jpeg_destroy_decompress(&cinfo);
  return true;
}

}  // namespace

RgbImage decode_jpeg(const uint8_t* data, size_t size, const std::string& name, int64_t min_side) {
  RgbImage image;
  std::vector<uint8_t> cmyk_row;
  char message[JMSG_LENGTH_MAX] = {0};
  if (!decode_into(data, size, min_side, &image, &cmyk_row, message))
    throw DataError("cannot decode JPEG " + name + ": " + message);
  return image;
}

RgbImage decode_jpeg_file(const std::string& path, int64_t min_side) {
  std::vector<uint8_t> bytes = read_file_bytes(path);
  return decode_jpeg(bytes.data(), bytes.size(), path, min_side);
}

}  // namespace frugal
