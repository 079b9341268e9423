// Writing IDX files (the MNIST format: big-endian 32-bit header fields, gzip-compressed) byte by byte,
// for the end-to-end tests of malformed datasets.
#pragma once
#include <zlib.h>

#include <cstdint>
#include <filesystem>
#include <string>

namespace frugal::e2e {

inline void write_gz(const std::filesystem::path& p, const std::string& bytes) {
  gzFile f = gzopen(p.string().c_str(), "wb");
  gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size()));
  gzclose(f);
}

// A header field of an IDX file.
inline std::string be32(uint32_t v) {
  return {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8), static_cast<char>(v)};
}

}  // namespace frugal::e2e
