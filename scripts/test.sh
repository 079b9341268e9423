#!/usr/bin/env bash
# Installs what is missing, builds, and runs every test through ctest.
#
#   scripts/test.sh              Release build in ${FRUGAL_BUILD_DIR:-build}, every test (fuzz corpora
#                                replayed by a plain driver)
#   scripts/test.sh --sanitize   clang with AddressSanitizer + UndefinedBehaviorSanitizer (leak checking
#                                on) in ${FRUGAL_SANITIZE_DIR:-build-sanitize}: the suite, the fuzz corpora,
#                                and each fuzz target fuzzed for FRUGAL_FUZZ_SECONDS (25 s) under libFuzzer
#
# The sanitized run builds without CUDA (the sanitizers see host code only; tests/cuda skip without a
# GPU anyway) at -O1 and runs every test: measured here it fits CI's 90 minutes on 2 cores with room
# to spare (see .ci/run), so nothing is skipped; FRUGAL_SANITIZE_SKIP (a ctest regex) can leave tests
# out. Any sanitizer report aborts the process under test, so it fails its test.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

if [ "${1:-}" != "--sanitize" ]; then
  "$root/scripts/setup.sh"
  "$root/scripts/build.sh"
  build="${FRUGAL_BUILD_DIR:-$root/build}"
  cd "$build"
  exec ctest --output-on-failure -j "$(nproc)" --timeout 600
fi

FRUGAL_SETUP_SANITIZE=1 "$root/scripts/setup.sh"
build="${FRUGAL_SANITIZE_DIR:-$root/build-sanitize}"
sanitize_skip="${FRUGAL_SANITIZE_SKIP:-}"

# Reports abort the process; a huge allocation that fails returns null (as the real allocator does) so
# the code's own out-of-memory path runs; leaks are reported when each process exits.
export ASAN_OPTIONS="detect_leaks=1:allocator_may_return_null=1:abort_on_error=0:strict_init_order=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
# Open MPI keeps allocations past MPI_Finalize by design: the data-parallel tests' ranks suppress leaks
# whose allocation stack passes through its libraries (and keep its components loaded so that their
# frames have names); frugal's own allocations are still checked.
export LSAN_OPTIONS="suppressions=$root/tests/sanitize/lsan_open_mpi.supp:print_suppressions=0"
export OMPI_MCA_mca_base_component_disable_dlclose=1

if [ ! -f "$build/CMakeCache.txt" ]; then
  launcher=()
  if command -v ccache >/dev/null 2>&1; then launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache); fi
  CC=clang CXX=clang++ cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DFRUGAL_SANITIZE=ON \
    -DFRUGAL_CUDA=OFF "${launcher[@]}"
fi
cmake --build "$build" -j "$(nproc)"
cd "$build"
exec ctest --output-on-failure -j "$(nproc)" --timeout 900 ${sanitize_skip:+-E "$sanitize_skip"}
