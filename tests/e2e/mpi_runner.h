// Runs the frugal binary under `mpirun --oversubscribe -np N` (Open MPI) for the data-parallel tests,
// with the allow-run-as-root settings CI containers need. Tests call skip_without_mpi() first.
#pragma once
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>

#include "core/io/safetensors.h"
#include "tests/e2e/cli_runner.h"

namespace frugal::e2e {

// Why the data-parallel tests cannot run here, or "" when they can.
inline std::string mpi_unavailable() {
#ifndef FRUGAL_TEST_MPI
  return "this frugal was built without MPI (install libopenmpi-dev, rerun cmake)";
#else
  if (std::system("command -v mpirun > /dev/null 2>&1") != 0) return "mpirun is not on PATH (install openmpi-bin)";
  return "";
#endif
}

#define FRUGAL_SKIP_WITHOUT_MPI()                                    \
  do {                                                               \
    const std::string why = ::frugal::e2e::mpi_unavailable();        \
    if (!why.empty()) GTEST_SKIP() << "data-parallel test: " << why; \
  } while (0)

// `mpirun --oversubscribe -np N ` with the environment set up as below; the program and its arguments follow.
inline std::string mpirun_prefix(int ranks) {
  // As root (CI containers) Open MPI refuses to start without both variables.
  setenv("OMPI_ALLOW_RUN_AS_ROOT", "1", 1);
  setenv("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1", 1);
  // In the sanitized run (scripts/test.sh --sanitize): Open MPI's libraries have no frame pointers, so
  // only the slow unwinder puts their frames on a leak's allocation stack, where the suppressions of
  // tests/sanitize/lsan_open_mpi.supp look for them. The ranks alone pay for it.
  if (const char* asan = std::getenv("ASAN_OPTIONS"); asan && !std::strstr(asan, "fast_unwind_on_malloc"))
    setenv("ASAN_OPTIONS", (std::string(asan) + ":fast_unwind_on_malloc=0").c_str(), 1);
  return "mpirun --oversubscribe -np " + std::to_string(ranks) + " ";
}

inline std::string mpirun_command(int ranks, const std::string& args) {
  return mpirun_prefix(ranks) + frugal_binary() + " " + args;
}

// Runs `command` (a program and its arguments, after mpirun's) on `ranks` ranks; its output and exit code.
inline CliResult run_mpi_program(int ranks, const std::string& command) {
  const std::string cmd = mpirun_prefix(ranks) + command + " 2>&1";
  CliResult r;
  FILE* pipe = popen(cmd.c_str(), "r");
  if (!pipe) return r;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, pipe)) > 0) r.output.append(buf, n);
  const int status = pclose(pipe);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

inline CliResult run_mpi(int ranks, const std::string& args) {
  return run_mpi_program(ranks, frugal_binary() + " " + args);
}

// The largest |a - b| over every F32 tensor of two safetensors files, relative to the largest |b| of
// the same tensor; infinity when the files hold different tensors.
inline double max_relative_difference(const std::string& file_a, const std::string& file_b) {
  const SafetensorsFile a = load_safetensors(file_a), b = load_safetensors(file_b);
  if (a.tensors.size() != b.tensors.size()) return INFINITY;
  double worst = 0;
  for (size_t i = 0; i < a.tensors.size(); ++i) {
    const auto& [name, ta] = a.tensors[i];
    const Tensor& tb = b.tensors[i].second;
    if (name != b.tensors[i].first || ta.shape() != tb.shape() || ta.dtype() != tb.dtype()) return INFINITY;
    if (ta.dtype() != DType::F32) continue;
    double diff = 0, scale = 0;
    for (int64_t j = 0; j < ta.numel(); ++j) {
      diff = std::max(diff, std::abs(static_cast<double>(ta.f32()[j]) - tb.f32()[j]));
      scale = std::max(scale, std::abs(static_cast<double>(tb.f32()[j])));
    }
    if (scale > 0) worst = std::max(worst, diff / scale);
  }
  return worst;
}

}  // namespace frugal::e2e
