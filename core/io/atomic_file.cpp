#include "core/io/atomic_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <map>
#include <mutex>
#include <thread>
#include <cstring>
#include <filesystem>
#include <streambuf>
#include <vector>

#include "core/error.h"

namespace frugal {
namespace {

std::string errno_text(int err) { return std::strerror(err); }

// Writes every byte of [data, data + n) to fd, retrying short writes and EINTR. Returns 0 or an errno.
int write_all(int fd, const char* data, size_t n) {
  while (n > 0) {
    ssize_t w = ::write(fd, data, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    data += w;
    n -= static_cast<size_t>(w);
  }
  return 0;
}

// A buffered std::streambuf over a POSIX file descriptor, so the writer gets an ostream while we keep
// the descriptor for fsync. Remembers the first write error (errno) instead of losing it in badbit.
class FdStreamBuf : public std::streambuf {
 public:
  explicit FdStreamBuf(int fd) : fd_(fd), buffer_(1 << 16) {
    setp(buffer_.data(), buffer_.data() + buffer_.size());
  }
  int error() const { return error_; }

 protected:
  int_type overflow(int_type ch) override {
    if (!flush_buffer()) return traits_type::eof();
    if (!traits_type::eq_int_type(ch, traits_type::eof())) {
      *pptr() = traits_type::to_char_type(ch);
      pbump(1);
    }
    return traits_type::not_eof(ch);
  }
  std::streamsize xsputn(const char* s, std::streamsize n) override {
    // Large blocks (tensor data) bypass the buffer.
    if (n >= static_cast<std::streamsize>(buffer_.size())) {
      if (!flush_buffer() || !record(write_all(fd_, s, static_cast<size_t>(n)))) return 0;
      return n;
    }
    return std::streambuf::xsputn(s, n);
  }
  int sync() override { return flush_buffer() ? 0 : -1; }

 private:
  bool record(int err) {
    if (err && !error_) error_ = err;
    return err == 0 && error_ == 0;
  }
  bool flush_buffer() {
    size_t n = static_cast<size_t>(pptr() - pbase());
    setp(buffer_.data(), buffer_.data() + buffer_.size());
    return record(n ? write_all(fd_, buffer_.data(), n) : 0);
  }

  int fd_;
  std::vector<char> buffer_;
  int error_ = 0;
};

// The test hooks of atomic_file.h.
struct WriteHooks {
  std::string fail_name;  // FRUGAL_TEST_FAIL_WRITE: file name ...
  int fail_at = 0;        // ... and which of its writes fails (1-based); 0 = none
  int slow_ms = 0;        // FRUGAL_TEST_SLOW_WRITE_MS
  std::mutex mutex;
  std::map<std::string, int> writes;  // writes so far per file name

  WriteHooks() {
    if (const char* fail = std::getenv("FRUGAL_TEST_FAIL_WRITE")) {
      const std::string spec = fail;
      const size_t hash = spec.rfind('#');
      fail_name = spec.substr(0, hash);
      fail_at = hash == std::string::npos ? 1 : std::atoi(spec.c_str() + hash + 1);
    }
    if (const char* slow = std::getenv("FRUGAL_TEST_SLOW_WRITE_MS")) slow_ms = std::atoi(slow);
  }
  // True when this write of `path` is the one to fail.
  bool injected_failure(const std::string& path) {
    if (fail_at <= 0) return false;
    const std::string name = std::filesystem::path(path).filename().string();
    std::lock_guard<std::mutex> lock(mutex);
    return name == fail_name && ++writes[name] == fail_at;
  }
  void maybe_sleep() const {
    if (slow_ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(slow_ms));
  }
};

WriteHooks& hooks() {
  static WriteHooks instance;
  return instance;
}

// fsync the directory holding `path`, so the rename itself survives a crash. Filesystems that cannot
// sync a directory (EINVAL, ENOTSUP) are accepted: the rename is as durable as they allow.
void sync_parent_directory(const std::string& path) {
  std::string dir = std::filesystem::path(path).parent_path().string();
  if (dir.empty()) dir = ".";
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    throw IoError("cannot open directory '" + dir + "' to sync '" + path + "': " + errno_text(errno));
  int err = ::fsync(fd) == 0 ? 0 : errno;
  ::close(fd);
  if (err && err != EINVAL && err != ENOTSUP)
    throw IoError("cannot sync directory '" + dir + "' after writing '" + path + "': " + errno_text(err));
}

}  // namespace

void write_file_atomic(const std::string& path, const std::function<void(std::ostream&)>& writer) {
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
  if (fd < 0) throw IoError("cannot create '" + tmp + "' to write '" + path + "': " + errno_text(errno));

  auto fail = [&](const std::string& what, int err) {
    if (fd >= 0) ::close(fd);
    ::unlink(tmp.c_str());
    throw IoError("cannot write '" + path + "': " + what + (err ? ": " + errno_text(err) : ""));
  };
  {
    FdStreamBuf buf(fd);
    std::ostream out(&buf);
    try {
      writer(out);
      out.flush();
    } catch (...) {
      ::close(fd);
      ::unlink(tmp.c_str());
      throw;
    }
    if (buf.error()) fail("writing '" + tmp + "' failed", buf.error());
    if (!out) fail("the stream writing '" + tmp + "' went bad", 0);
  }
  if (hooks().injected_failure(path)) fail("writing '" + tmp + "' failed (injected by FRUGAL_TEST_FAIL_WRITE)", ENOSPC);
  hooks().maybe_sleep();
  if (::fsync(fd) != 0) fail("fsync of '" + tmp + "' failed", errno);
  int close_result = ::close(fd);
  fd = -1;
  if (close_result != 0) fail("closing '" + tmp + "' failed", errno);
  if (::rename(tmp.c_str(), path.c_str()) != 0) fail("renaming '" + tmp + "' over it failed", errno);
  sync_parent_directory(path);
}

void write_file_atomic(const std::string& path, const std::string& contents) {
  write_file_atomic(path, [&](std::ostream& out) {
    out.write(contents.data(), static_cast<std::streamsize>(contents.size()));
  });
}

void rename_durable(const std::string& from, const std::string& to) {
  if (::rename(from.c_str(), to.c_str()) != 0)
    throw IoError("cannot rename '" + from + "' to '" + to + "': " + errno_text(errno));
  sync_parent_directory(to);
}

void replace_symlink_atomic(const std::string& link, const std::string& target) {
  const std::string tmp = link + ".tmp." + std::to_string(::getpid());
  ::unlink(tmp.c_str());  // left by an earlier process with our pid, if any
  if (::symlink(target.c_str(), tmp.c_str()) != 0)
    throw IoError("cannot create the link '" + tmp + "' to point '" + link + "' at '" + target + "': " +
                  errno_text(errno));
  if (::rename(tmp.c_str(), link.c_str()) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    throw IoError("cannot point '" + link + "' at '" + target + "': " + errno_text(err));
  }
  sync_parent_directory(link);
}

std::string read_file(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw IoError("cannot open '" + path + "' for reading: " + errno_text(errno));
  struct stat st {};
  std::string contents;
  if (::fstat(fd, &st) == 0 && st.st_size > 0) contents.reserve(static_cast<size_t>(st.st_size));
  char chunk[1 << 16];
  for (;;) {
    ssize_t n = ::read(fd, chunk, sizeof chunk);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int err = errno;
      ::close(fd);
      throw IoError("cannot read '" + path + "': " + errno_text(err));
    }
    if (n == 0) break;
    contents.append(chunk, static_cast<size_t>(n));
  }
  ::close(fd);
  return contents;
}

}  // namespace frugal
