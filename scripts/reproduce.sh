#!/usr/bin/env bash
# Reproduces a paper's claims with Fashion-MNIST counterparts and regenerates docs/results/<paper>.md:
#   scripts/reproduce.sh <paper> [--jobs N] [--fresh] [--report-only]
# Papers: blpa, few_bit_backward, xconv, mem_aop_gd, mem_dfa (scripts/papers/<paper>.json). Installs
# what is missing and builds the frugal binary first, unless FRUGAL_BIN names one.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [ $# -lt 1 ]; then
  echo "usage: scripts/reproduce.sh <paper> [--jobs N] [--fresh] [--report-only]" >&2
  echo "papers: $(cd "$root/scripts/papers" && ls *.json | sed 's/\.json$//' | tr '\n' ' ')" >&2
  exit 2
fi
if [ -z "${FRUGAL_BIN:-}" ]; then
  "$root/scripts/setup.sh"
  FRUGAL_TARGETS=frugal "$root/scripts/build.sh" >&2
  export FRUGAL_BIN="${FRUGAL_BUILD_DIR:-$root/build}/frugal"
fi
exec python3 "$root/scripts/papers/reproduce.py" "$@"
