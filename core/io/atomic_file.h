// Whole-file reads and crash-safe whole-file writes (checkpoints, configs, reports).
#pragma once
#include <functional>
#include <ostream>
#include <string>

namespace frugal {

// Writes to "<path>.tmp.<pid>" in the same directory, fsyncs it, renames it over `path`, then fsyncs the
// directory: a crash never leaves a half-written file and never destroys the previous version.
// Throws IoError naming the path on any failure; the temporary file is removed on every failure.
void write_file_atomic(const std::string& path, const std::string& contents);
// Same, streaming: `writer` fills the stream. An exception thrown by `writer` propagates unchanged after
// the temporary file is removed, so the old file stays as it was.
void write_file_atomic(const std::string& path, const std::function<void(std::ostream&)>& writer);

// The whole file as bytes. Throws IoError naming the path when it is missing or unreadable.
std::string read_file(const std::string& path);

}  // namespace frugal
