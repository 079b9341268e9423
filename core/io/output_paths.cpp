#include "core/io/output_paths.h"

#include <unistd.h>

#include <filesystem>
#include <system_error>

#include "core/error.h"

namespace frugal {
namespace fs = std::filesystem;

void prepare_output_dir(const std::string& dir) {
  if (dir.empty()) return;  // the current directory
  std::error_code ec;
  // The nearest part of the path that exists names the usual mistake: a regular file in the way.
  fs::path existing = fs::path(dir);
  while (!existing.empty() && !fs::exists(fs::symlink_status(existing, ec))) existing = existing.parent_path();
  if (!existing.empty() && fs::exists(existing, ec) && !fs::is_directory(existing, ec))
    throw IoError("cannot create output directory '" + dir + "': '" + existing.string() +
                  "' exists and is not a directory");
  fs::create_directories(dir, ec);
  if (ec) throw IoError("cannot create output directory '" + dir + "': " + ec.message());
  if (!fs::is_directory(dir, ec)) throw IoError("output directory '" + dir + "' is not a directory");
  if (::access(dir.c_str(), W_OK | X_OK) != 0)
    throw IoError("output directory '" + dir + "' is not writable");
}

void check_output_file(const std::string& file) {
  const fs::path path(file);
  prepare_output_dir(path.parent_path().string());
  std::error_code ec;
  if (fs::is_directory(path, ec)) throw IoError("cannot write '" + file + "': it is a directory");
}

}  // namespace frugal
