#!/usr/bin/env bash
# Installs what is missing, builds, trains configs/quickstart.json on Fashion-MNIST and prints where
# the run directory (metrics, checkpoint, memory report) is.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$root/scripts/setup.sh"
"$root/scripts/build.sh"
build="${FRUGAL_BUILD_DIR:-$root/build}"
"$build/frugal" --version
if [ -f "$root/configs/quickstart.json" ]; then
  cd "$root"
  "$build/frugal" train --config configs/quickstart.json "$@"
fi
