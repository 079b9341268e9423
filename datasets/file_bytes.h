// Whole-file reads for dataset formats, transparently gunzipping (zlib reads plain files as they
// are).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace frugal {

// Every (decompressed) byte of `path`. DataError naming the file when it is missing or unreadable,
// or when its gzip stream is corrupt.
std::vector<uint8_t> read_file_bytes(const std::string& path);

// The bytes of `path` as they are on disk (no gunzip) into `out`, reusing its capacity: for image files
// read once per sample. DataError naming the file when it is missing or unreadable.
void read_raw_file(const std::string& path, std::vector<uint8_t>* out);

bool path_exists(const std::string& path);
bool is_directory(const std::string& path);
std::string join_path(const std::string& dir, const std::string& name);
// The first of `dir`/name for name in `names` that exists, or "" when none does.
std::string first_existing(const std::string& dir, const std::vector<std::string>& names);

}  // namespace frugal
