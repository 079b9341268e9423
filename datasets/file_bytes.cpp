#include "datasets/file_bytes.h"

#include <zlib.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>

#include "core/error.h"

namespace frugal {

namespace {

// The uncompressed length of `path`: its gzip trailer's ISIZE for a gzip file, else its size.
size_t expected_length(const std::string& path, size_t disk_size) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) return disk_size;
  unsigned char head[2] = {0, 0}, tail[4] = {0, 0, 0, 0};
  size_t length = disk_size;
  if (std::fread(head, 1, 2, f) == 2 && head[0] == 0x1f && head[1] == 0x8b && disk_size >= 18 &&
      std::fseek(f, -4, SEEK_END) == 0 && std::fread(tail, 1, 4, f) == 4)
    length = size_t{tail[0]} | size_t{tail[1]} << 8 | size_t{tail[2]} << 16 | size_t{tail[3]} << 24;
  std::fclose(f);
  // A damaged file's trailer can promise anything: beyond a plausible ratio, start from the disk size.
  return length <= 16 * disk_size ? length : disk_size;
}

}  // namespace

std::vector<uint8_t> read_file_bytes(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) throw DataError("data file not found: " + path);
  gzFile file = gzopen(path.c_str(), "rb");
  if (!file) throw DataError("cannot open data file " + path);
  gzbuffer(file, 1 << 17);

  // The buffer is sized once from the expected length (every byte of it is touched, so a guess that
  // is too large would count in the process's resident memory): a plain file's size, or a gzip
  // member's trailer (its length mod 2^32). It grows only when the stream turns out longer.
  std::vector<uint8_t> bytes;
  const size_t disk_size = static_cast<size_t>(fs::file_size(path, ec));
  bytes.resize(std::max<size_t>(expected_length(path, disk_size), 1));
  size_t filled = 0;
  for (;;) {
    uint8_t probe;
    const bool full = filled == bytes.size();  // then grow only if the stream has more
    size_t want = full ? 1 : std::min<size_t>(bytes.size() - filled, 1u << 30);
    int got = gzread(file, full ? &probe : bytes.data() + filled, static_cast<unsigned>(want));
    if (full && got > 0) {
      bytes.resize(bytes.size() * 2);
      bytes[filled] = probe;
    }
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
  bytes.resize(filled);  // no shrink_to_fit: it would copy; the guess is exact for well-formed files
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
