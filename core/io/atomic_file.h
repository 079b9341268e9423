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

// Renames `from` to `to` (files or directories; `to` must not be a non-empty directory) and fsyncs the
// folder of `to`: the switch is atomic and survives a crash. IoError naming both paths on failure.
void rename_durable(const std::string& from, const std::string& to);

// Points the symbolic link `link` at `target` atomically: a new link is made beside it and renamed over
// it, so `link` names the old target or the new one at every instant. IoError naming `link` on failure.
void replace_symlink_atomic(const std::string& link, const std::string& target);

// Test hooks, read from the environment once per process, for the tests of crash safety:
//   FRUGAL_TEST_FAIL_WRITE=<file name>#<n>  the n-th write_file_atomic of a file with this name (no
//                                           folder) fails as a full disk would (ENOSPC);
//   FRUGAL_TEST_SLOW_WRITE_MS=<ms>          every write_file_atomic sleeps this long after writing the
//                                           temporary file, before it is synced and renamed, so that a
//                                           test can kill the process in the middle of a write.

// The whole file as bytes. Throws IoError naming the path when it is missing or unreadable.
std::string read_file(const std::string& path);

}  // namespace frugal
