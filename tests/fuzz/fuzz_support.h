// What the fuzz targets share. Each target defines LLVMFuzzerTestOneInput, the libFuzzer entry point;
// under clang's libFuzzer it is fuzzed, elsewhere replay_main.cpp feeds it the files of its corpus.
//
// The contract every target checks: a parser of outside input either succeeds or throws frugal::Error
// (a clean, user-facing refusal). A crash, a sanitizer report, a leak, a hang or any other exception
// is a finding.
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

#include <nlohmann/json.hpp>

#include "core/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace frugal::fuzz {

// A folder of this process for parsers that read files (see scratch_parent()); removed at exit.
class Scratch {
 public:
  explicit Scratch(const std::string& target);
  ~Scratch();
  Scratch(const Scratch&) = delete;
  Scratch& operator=(const Scratch&) = delete;

  // Removes everything inside the folder (each input starts from an empty one).
  void clear();
  // `relative` inside the folder, as a string.
  std::string path(const std::string& relative) const;
  // Writes `bytes` to `relative` (creating its folders) and returns path(relative).
  std::string write(const std::string& relative, const std::string& bytes) const;

 private:
  std::filesystem::path root_;
};

// Splits one input into parts separated by kSeparator, so that one input can hold several files (a
// config and its parent, an images and a labels file) and libFuzzer's mutations still reach each part.
constexpr const char* kSeparator = "\n--\n";
class Parts {
 public:
  Parts(const uint8_t* data, size_t size) : text_(reinterpret_cast<const char*>(data), size) {}
  // The first byte of what is left, consumed, or 0 when nothing is left: a target's option flags.
  uint8_t flags();
  // Everything up to the next separator (or the end), consumed together with the separator.
  std::string next();
  bool empty() const { return pos_ >= text_.size(); }

 private:
  std::string text_;
  size_t pos_ = 0;
};

// The gzip member holding `bytes` (for the gzip paths of the dataset readers).
std::string gzip(const std::string& bytes);

// A small resolved training config (MLP on synthetic data, AdamW) whose weights, optimizer state and checkpoint
// the safetensors and checkpoint targets load inputs into; make_corpus.cpp writes their seeds from it.
nlohmann::json tiny_experiment_config();

// Runs one input: frugal::Error is the expected refusal of bad input and is absorbed (printed when
// FRUGAL_FUZZ_VERBOSE is set, to see how far the seeds get); anything else escapes to the fuzzer (or
// the replay driver) as a failure.
template <class Body>
int run_input(Body&& body) {
  try {
    body();
  } catch (const Error& e) {
    if (std::getenv("FRUGAL_FUZZ_VERBOSE")) std::fprintf(stderr, "refused: %s\n", e.what());
  }
  return 0;
}

}  // namespace frugal::fuzz
