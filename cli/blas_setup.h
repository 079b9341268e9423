// OpenBLAS 0.3.21 (Debian 12) does not recognise recent Xeons and falls back to its SSE3 kernels,
// about 4x slower than the AVX-512 ones. It reads OPENBLAS_CORETYPE only when the library loads, so
// the CLI re-executes itself once with the right core type when the user has not chosen one.
#pragma once

namespace frugal::cli {

// Returns only when no re-execution is needed (or it failed); otherwise the process is replaced.
void ensure_fast_blas_kernels(int argc, char** argv);

}  // namespace frugal::cli
