#!/usr/bin/env bash
# Rewrites the fuzz targets' seed corpora in tests/fuzz/<target>/ from tests/fuzz/make_corpus.cpp.
# Files named crash-* there (inputs that once failed, kept as regressions) are left as they are.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${FRUGAL_BUILD_DIR:-$root/build}"
if [ ! -f "$build/CMakeCache.txt" ]; then
  cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release
fi
cmake --build "$build" --target fuzz_make_corpus
"$build/tests/fuzz/fuzz_make_corpus" "$root/tests/fuzz" "$root"
