#!/usr/bin/env bash
# Installs, with apt-get, every Debian package that building, testing and the quickstart need.
# Does nothing when they are all present.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config
  libopenblas-dev libomp-dev
  libspdlog-dev libfmt-dev nlohmann-json3-dev libcli11-dev libgtest-dev
  zlib1g-dev libjpeg-dev libpng-dev
  libopenmpi-dev openmpi-bin
  dataset-fashion-mnist
  python3 python3-numpy
)
# Only the PyTorch comparison scripts and the report screenshot need these; FRUGAL_SETUP_EXTRAS=1 adds them.
extras=(python3-torch chromium)
if [ "${FRUGAL_SETUP_EXTRAS:-0}" = "1" ]; then packages+=("${extras[@]}"); fi
# The sanitized suite and the fuzz targets (scripts/test.sh --sanitize) build with clang, whose
# AddressSanitizer, UBSan and libFuzzer runtimes are in libclang-rt-dev; FRUGAL_SETUP_SANITIZE=1 adds them.
sanitize=(clang libclang-rt-dev)
if [ "${FRUGAL_SETUP_SANITIZE:-0}" = "1" ]; then packages+=("${sanitize[@]}"); fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
echo "setup: installing ${missing[*]}"
SUDO=""
if [ "$(id -u)" != "0" ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
