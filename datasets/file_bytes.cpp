#include "datasets/file_bytes.h"

#include <zlib.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>

#include "core/error.h"

namespace frugal {

std::vector<uint8_t> read_file_bytes(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) throw DataError("data file not found: " + path);
  gzFile file = gzopen(path.c_str(), "rb");
  if (!file) throw DataError("cannot open data file " + path);
  gzbuffer(file, 1 << 17);

  // The on-disk size is exact for plain files and a lower bound for gzip ones.
  std::vector<uint8_t> bytes;
  size_t disk_size = static_cast<size_t>(fs::file_size(path, ec));
  size_t capacity = std::max<size_t>(disk_size, 1 << 16);
  bytes.resize(capacity);
  size_t filled = 0;
  for (;;) {
    if (filled == bytes.size()) bytes.resize(bytes.size() * 2);
    size_t want = std::min<size_t>(bytes.size() - filled, 1u << 30);
    int got = gzread(file, bytes.data() + filled, static_cast<unsigned>(want));
    if (got < 0) {
      int code = 0;
      std::string why = gzerror(file, &code);
      gzclose(file);
      throw DataError("cannot read data file " + path + ": " + why);
    }
    if (got == 0) break;
    filled += static_cast<size_t>(got);
  }
  // A gzip stream cut short reads as a clean end in some zlib versions; gzclose still reports it.
  int close_status = gzclose(file);
  if (close_status != Z_OK && close_status != Z_BUF_ERROR)
    throw DataError("cannot read data file " + path + ": corrupt gzip stream");
  if (close_status == Z_BUF_ERROR)
    throw DataError("cannot read data file " + path + ": gzip stream ends early (truncated file)");
  bytes.resize(filled);
  bytes.shrink_to_fit();
  return bytes;
}

void read_raw_file(const std::string& path, std::vector<uint8_t>* out) {
  FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) throw DataError("cannot open image file " + path);
  out->clear();
  size_t filled = 0;
  for (;;) {
    if (out->size() < filled + (1 << 16)) out->resize(filled + (1 << 16));
    const size_t got = std::fread(out->data() + filled, 1, out->size() - filled, f);
    filled += got;
    if (got == 0) break;
  }
  const bool failed = std::ferror(f) != 0;
  std::fclose(f);
  if (failed) throw DataError("cannot read image file " + path);
  out->resize(filled);
}

bool path_exists(const std::string& path) {
  std::error_code ec;
  return std::filesystem::exists(path, ec);
}

bool is_directory(const std::string& path) {
  std::error_code ec;
  return std::filesystem::is_directory(path, ec);
}

std::string join_path(const std::string& dir, const std::string& name) {
  return (std::filesystem::path(dir) / name).string();
}

std::string first_existing(const std::string& dir, const std::vector<std::string>& names) {
  for (const auto& name : names) {
    std::string candidate = join_path(dir, name);
    if (path_exists(candidate)) return candidate;
  }
  return "";
}

}  // namespace frugal
