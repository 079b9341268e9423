// Runs the frugal binary (path from FRUGAL_BIN, set by CMake) and captures its output and exit code.
#pragma once
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <initializer_list>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace frugal::e2e {

struct CliResult {
  int exit_code = -1;
  std::string output;  // stdout and stderr together
};

inline std::string frugal_binary() {
  const char* bin = std::getenv("FRUGAL_BIN");
  return bin ? bin : FRUGAL_BIN_PATH;
}

// `env`: assignments put before the command, e.g. "FRUGAL_TEST_SLOW_WRITE_MS=10".
inline CliResult run_frugal(const std::string& args, const std::string& env = "") {
  std::string cmd = env + (env.empty() ? "" : " ") + frugal_binary() + " " + args + " 2>&1";
  CliResult r;
  FILE* pipe = popen(cmd.c_str(), "r");
  if (!pipe) return r;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, pipe)) > 0) r.output.append(buf, n);
  int status = pclose(pipe);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

inline std::string read_text(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline void write_text(const std::filesystem::path& p, const std::string& text) {
  std::filesystem::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary) << text;
}

// A fresh directory under the system temp dir, removed by the destructor.
class TempDir {
 public:
  explicit TempDir(const std::string& tag) {
    path_ = std::filesystem::temp_directory_path() /
            ("frugal_e2e_" + tag + "_" + std::to_string(::getpid()));
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  const std::filesystem::path& path() const { return path_; }
  std::string str(const std::string& sub = "") const { return (sub.empty() ? path_ : path_ / sub).string(); }

 private:
  std::filesystem::path path_;
};

// A user error: exit code 2 and every fragment (a key path, a file name) in the output.
inline ::testing::AssertionResult is_user_error(const CliResult& r, std::initializer_list<std::string> fragments) {
  if (r.exit_code != 2) return ::testing::AssertionFailure() << "exit code " << r.exit_code << ", not 2:\n" << r.output;
  for (const std::string& f : fragments)
    if (r.output.find(f) == std::string::npos)
      return ::testing::AssertionFailure() << "'" << f << "' not in:\n" << r.output;
  return ::testing::AssertionSuccess();
}

// A small, quick synthetic-data MLP config (with dropout, so RNG streams are exercised).
inline nlohmann::json tiny_config(const std::string& name) {
  return {{"name", name},
          {"seed", 3},
          {"threads", 2},
          {"data",
           {{"dataset", "synthetic"},
            {"batch_size", 32},
            {"test_batch_size", 64},
            {"normalize", {{"mean", {0.5}}, {"std", {0.2}}}},
            {"synthetic", {{"shape", {1, 8, 8}}, {"classes", 4}, {"train_size", 256}, {"test_size", 128}}}}},
          {"model", {{"arch", "mlp"}, {"hidden", {32}}, {"dropout", 0.2}}},
          {"optimizer", {{"name", "sgd"}, {"lr", 0.05}, {"momentum", 0.9}, {"weight_decay", 1e-4}}},
          {"schedule", {{"name", "cosine"}}},
          {"train", {{"epochs", 2}, {"log_every", 4}}}};
}

}  // namespace frugal::e2e
