// What every CUDA test shares: the CUDA kernels when a GPU is visible, a skip (reported by ctest by
// name) when none is, and copies between host vectors and device tensors. These tests carry the ctest
// label `cuda`; scripts/gpu_check.sh runs them on a machine with a GPU.
#pragma once
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/error.h"
#include "core/tensor.h"
#include "ops/kernels.h"

namespace frugal::testing {

// The CUDA kernels, or null with `why` set when this machine cannot run them.
inline const Kernels* cuda_or_null(std::string* why) {
  try {
    const Kernels* k = cuda_kernels();
    if (!k) *why = "this build has no CUDA backend";
    return k;
  } catch (const Error& e) {
    *why = e.what();
    return nullptr;
  }
}

}  // namespace frugal::testing

// Skips the test (by name, in ctest's summary) unless a GPU is usable; binds `cuda` to its kernels.
#define FRUGAL_REQUIRE_GPU(cuda)                                        \
  std::string frugal_no_gpu_reason_;                                    \
  const ::frugal::Kernels* cuda = ::frugal::testing::cuda_or_null(&frugal_no_gpu_reason_); \
  if (!cuda) GTEST_SKIP() << "no GPU: " << frugal_no_gpu_reason_
