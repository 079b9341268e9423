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
// early is an error, as in PIL: libjpeg would make up the missing rows (grey), so a truncated file
// would be trained on, and a few hundred bytes claiming a large image would cost seconds of decoding.
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

// What one decode call asks for: a scale and a box of the scaled image, or only the header.
struct Request {
  bool header_only = false;
  int scale_eighths = 8;
  PixelBox box;  // x1 <= 0: the whole image
};

// Only trivially destructible locals live here, since longjmp skips destructors. Returns false with
// `message` filled on a libjpeg error.
bool decode_into(const uint8_t* data, size_t size, const Request& req, ImageRegion* out,
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
  if (req.header_only) {
    out->full_width = cinfo.image_width;
    out->full_height = cinfo.image_height;
    jpeg_destroy_decompress(&cinfo);
    return true;
  }
  const bool cmyk = cinfo.jpeg_color_space == JCS_CMYK || cinfo.jpeg_color_space == JCS_YCCK;
  cinfo.out_color_space = cmyk ? JCS_CMYK : JCS_RGB;
  cinfo.scale_num = static_cast<unsigned>(req.scale_eighths);
  cinfo.scale_denom = 8;
  jpeg_start_decompress(&cinfo);
  out->full_width = cinfo.output_width;
  out->full_height = cinfo.output_height;
  JDIMENSION x0 = 0, width = cinfo.output_width;
  int64_t y0 = 0, y1 = cinfo.output_height;
  if (req.box.x1 > 0) {
    // Fancy (smoothing) upsampling of subsampled chroma reads the neighbouring chroma samples, which
    // cropping and skipping drop at the region's edges: the region grows by one iMCU on each side (and
    // skipping stops at an iMCU row boundary), so the box's own pixels decode exactly as in a full decode.
    const int64_t imcu_w = static_cast<int64_t>(cinfo.max_h_samp_factor) * cinfo.min_DCT_scaled_size;
    const int64_t imcu_h = static_cast<int64_t>(cinfo.max_v_samp_factor) * cinfo.min_DCT_scaled_size;
    const int64_t full_w = cinfo.output_width, full_h = cinfo.output_height;
    const int64_t bx0 = std::clamp<int64_t>(req.box.x0 - imcu_w, 0, full_w - 1);
    const int64_t bx1 = std::clamp<int64_t>(req.box.x1 + imcu_w, bx0 + 1, full_w);
    y1 = std::clamp<int64_t>(req.box.y1, 1, full_h);
    y0 = std::clamp<int64_t>((req.box.y0 / imcu_h - 1) * imcu_h, 0, y1 - 1);
    x0 = static_cast<JDIMENSION>(bx0);
    width = static_cast<JDIMENSION>(bx1 - bx0);
    if (width < cinfo.output_width) jpeg_crop_scanline(&cinfo, &x0, &width);  // widens to iMCU edges
    if (y0 > 0) jpeg_skip_scanlines(&cinfo, static_cast<JDIMENSION>(y0));
  }
  out->x0 = x0;
  out->y0 = y0;
  out->image.width = width;
  out->image.height = y1 - y0;
  // Rows are added as they are decoded, so memory for a large image whose data turns out to be
  // missing is reserved but never touched.
  const size_t row_bytes = static_cast<size_t>(width) * 3;
  out->image.pixels.clear();
  out->image.pixels.reserve(static_cast<size_t>(out->image.height) * row_bytes);
  if (cmyk) cmyk_row->resize(static_cast<size_t>(width) * 4);
  while (static_cast<int64_t>(cinfo.output_scanline) < y1) {
    const size_t row = static_cast<size_t>(cinfo.output_scanline - y0);
    out->image.pixels.resize((row + 1) * row_bytes);
    uint8_t* dst = out->image.pixels.data() + row * row_bytes;
    JSAMPROW rows = cmyk ? cmyk_row->data() : dst;
    jpeg_read_scanlines(&cinfo, &rows, 1);
    if (cmyk) cmyk_to_rgb(cmyk_row->data(), dst, width);
  }
  // Rows below the box are never decoded: abandon the rest of the image.
  jpeg_destroy_decompress(&cinfo);
  return true;
}

void run(const uint8_t* data, size_t size, const std::string& name, const Request& req, ImageRegion* out) {
  thread_local std::vector<uint8_t> cmyk_row;
  char message[JMSG_LENGTH_MAX] = {0};
  if (!decode_into(data, size, req, out, &cmyk_row, message))
    throw DataError("cannot decode JPEG " + name + ": " + message);
}

}  // namespace

void jpeg_dimensions(const uint8_t* data, size_t size, const std::string& name, int64_t* width,
                     int64_t* height) {
  Request req;
  req.header_only = true;
  ImageRegion region;
  run(data, size, name, req, &region);
  *width = region.full_width;
  *height = region.full_height;
}

int64_t jpeg_scaled_side(int64_t side, int scale_eighths) { return (side * scale_eighths + 7) / 8; }

void decode_jpeg_region(const uint8_t* data, size_t size, const std::string& name, int scale_eighths,
                        const PixelBox& box, ImageRegion* out) {
  if (scale_eighths < 1 || scale_eighths > 8 || box.x1 <= box.x0 || box.y1 <= box.y0)
    throw InternalError("decode_jpeg_region(" + name + "): scale " + std::to_string(scale_eighths) +
                        "/8 and box [" + std::to_string(box.x0) + ", " + std::to_string(box.x1) + ") x [" +
                        std::to_string(box.y0) + ", " + std::to_string(box.y1) + ")");
  Request req;
  req.scale_eighths = scale_eighths;
  req.box = box;
  run(data, size, name, req, out);
}

RgbImage decode_jpeg(const uint8_t* data, size_t size, const std::string& name, int64_t min_side) {
  int64_t width = 0, height = 0;
  jpeg_dimensions(data, size, name, &width, &height);
  const int64_t short_side = std::min(width, height);
  int denom = 1;
  while (min_side > 0 && denom < 8 && short_side / (denom * 2) >= min_side) denom *= 2;
  Request req;
  req.scale_eighths = 8 / denom;
  ImageRegion region;
  run(data, size, name, req, &region);
  return std::move(region.image);
}

RgbImage decode_jpeg_file(const std::string& path, int64_t min_side) {
  std::vector<uint8_t> bytes = read_file_bytes(path);
  return decode_jpeg(bytes.data(), bytes.size(), path, min_side);
}

}  // namespace frugal
