#include "tests/fuzz/fuzz_support.h"

#include <unistd.h>
#include <zlib.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <stdexcept>

#include "core/config/validate.h"
#include "training/config/frugal_schema.h"

namespace frugal::fuzz {
namespace fs = std::filesystem;

namespace {

// $TMPDIR when set, else /dev/shm when there is one: each input writes files, and a memory file system
// spares those writes the stalls of a busy disk (which read as hangs).
fs::path scratch_parent() {
  std::error_code ec;
  if (!std::getenv("TMPDIR") && fs::is_directory("/dev/shm", ec) && ::access("/dev/shm", W_OK) == 0)
    return "/dev/shm";
  return fs::temp_directory_path();
}

}  // namespace

Scratch::Scratch(const std::string& target)
    : root_(scratch_parent() / ("frugal_fuzz_" + target + "_" + std::to_string(::getpid()))) {
  fs::remove_all(root_);
  fs::create_directories(root_);
}

Scratch::~Scratch() {
  std::error_code ignored;
  fs::remove_all(root_, ignored);
}

void Scratch::clear() {
  for (const auto& entry : fs::directory_iterator(root_)) fs::remove_all(entry.path());
}

std::string Scratch::path(const std::string& relative) const { return (root_ / relative).string(); }

std::string Scratch::write(const std::string& relative, const std::string& bytes) const {
  const fs::path file = root_ / relative;
  fs::create_directories(file.parent_path());
  std::ofstream(file, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  return file.string();
}

uint8_t Parts::flags() { return empty() ? 0 : static_cast<uint8_t>(text_[pos_++]); }

std::string Parts::next() {
  if (empty()) return "";
  const size_t end = text_.find(kSeparator, pos_);
  std::string part = text_.substr(pos_, end == std::string::npos ? std::string::npos : end - pos_);
  pos_ = end == std::string::npos ? text_.size() : end + std::strlen(kSeparator);
  return part;
}

nlohmann::json tiny_experiment_config() {
  const nlohmann::json config = {
      {"name", "fuzz"},
      {"seed", 1},
      {"threads", 1},
      {"data",
       {{"dataset", "synthetic"},
        {"batch_size", 2},
        {"test_batch_size", 2},
        {"prefetch", 0},
        {"synthetic", {{"shape", {1, 2, 2}}, {"classes", 3}, {"train_size", 6}, {"test_size", 2}}}}},
      {"model", {{"arch", "mlp"}, {"hidden", {5}}}},
      {"optimizer", {{"name", "adamw"}, {"lr", 0.01}}}};
  return validate_config(config, frugal_config_schema(), "tiny_experiment_config");
}

std::string gzip(const std::string& bytes) {
  z_stream z{};
  // windowBits 15 + 16: a gzip header and trailer rather than zlib's.
  if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
    throw std::runtime_error("deflateInit2 failed");
  std::string out(deflateBound(&z, static_cast<uLong>(bytes.size())) + 32, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(bytes.data()));
  z.avail_in = static_cast<uInt>(bytes.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  const int status = deflate(&z, Z_FINISH);
  out.resize(z.total_out);
  deflateEnd(&z);
  if (status != Z_STREAM_END) throw std::runtime_error("deflate did not finish");
  return out;
}

}  // namespace frugal::fuzz
