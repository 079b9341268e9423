#include "cli/blas_setup.h"

#include <unistd.h>

#include <cstdlib>

namespace frugal::cli {

void ensure_fast_blas_kernels(int argc, char** argv) {
  (void)argc;
  if (std::getenv("OPENBLAS_CORETYPE") || std::getenv("FRUGAL_NO_BLAS_REEXEC")) return;
  const char* core = nullptr;
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl"))
    core = "SkylakeX";
  else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
    core = "Haswell";
  if (!core) return;
  setenv("OPENBLAS_CORETYPE", core, 1);
  setenv("FRUGAL_NO_BLAS_REEXEC", "1", 1);  // never loop
  execv("/proc/self/exe", argv);
  // execv failed: carry on with whatever kernels OpenBLAS chose.
}

}  // namespace frugal::cli
