#!/usr/bin/env bash
# Downloads, with `apt-get download`, the Debian packages that building frugal needs and that the lent
# GPU machines lack (their image has nvcc, CMake, ninja, a C++ compiler and PyTorch with cuDNN, but no
# -dev packages, and nothing can be fetched there), into a git-ignored folder that travels with a device
# call; scripts/gpu_check.sh unpacks it there into a prefix (docs/gpu.md). Run on the development
# machine (Debian 12), after `apt-get update`.
#
#   scripts/fetch_gpu_debs.sh [--out DIR] [--mpi] [--check]
#
#   --out DIR  where the .debs go (default: .gpu-debs in the repository root)
#   --mpi      also Open MPI (headers, libraries, mpirun) for builds with an MPI communicator
#   --check    then unpack the set into a temporary prefix and configure the project against that prefix
#              alone (every find_package re-rooted into it), to show that the set is complete
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="$root/.gpu-debs"
mpi=0
check=0
while [ $# -gt 0 ]; do
  case "$1" in
    --out) out="$2"; shift 2 ;;
    --mpi) mpi=1; shift ;;
    --check) check=1; shift ;;
    -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
    *) echo "fetch_gpu_debs: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done

# What CMakeLists.txt finds, and the libraries those need at run time that a CUDA image may lack. The
# C/C++ runtime (libc6, libstdc++6, libgcc-s1, libgomp1) comes with the machine's compiler. Debian
# packages depend on versions of these: the set is for this Debian release (bookworm), and a newer
# system (the GPU image) runs its binaries too.
packages=(
  libopenblas-dev libopenblas-pthread-dev libopenblas0 libopenblas0-pthread libgfortran5 libquadmath0
  libspdlog-dev libspdlog1.10 libfmt-dev libfmt9
  nlohmann-json3-dev libcli11-dev
  libgtest-dev libgmock-dev googletest
  libjpeg-dev libjpeg62-turbo-dev libjpeg62-turbo
  zlib1g-dev zlib1g
)
# Open MPI 4.1 and the transports libopenmpi3 links against.
mpi_packages=(
  libopenmpi-dev libopenmpi3 openmpi-common openmpi-bin
  libpmix2 libmunge2 libhwloc15 libhwloc-plugins libevent-core-2.1-7 libevent-pthreads-2.1-7
  libfabric1 libucx0 libibverbs1 ibverbs-providers librdmacm1 libpsm2-2 libpsm-infinipath1
  libnl-3-200 libnl-route-3-200 libnuma1 libatomic1
)
if [ "$mpi" = 1 ]; then packages+=("${mpi_packages[@]}"); fi

mkdir -p "$out"
rm -f "$out"/*.deb
(cd "$out" && apt-get download "${packages[@]}")
count=$(find "$out" -maxdepth 1 -name '*.deb' | wc -l)
echo "fetch_gpu_debs: $count packages, $(du -sh "$out" | cut -f1) in $out"
if [ "$count" -ne "${#packages[@]}" ]; then
  echo "fetch_gpu_debs: expected ${#packages[@]} packages, got $count" >&2
  exit 1
fi

if [ "$check" = 1 ]; then
  tmp="$(mktemp -d /tmp/frugal-debs-check.XXXXXX)"
  trap 'rm -rf "$tmp"' EXIT
  "$root/scripts/unpack_debs.sh" "$out" "$tmp/prefix" >/dev/null
  # shellcheck disable=SC1091
  . "$tmp/prefix/env.sh"
  # Re-rooting every search into the prefix keeps this machine's own installed copies out of the check.
  # The compiler's OpenMP and the CUDA toolkit (in /usr/local/cuda there) are not packages of the set.
  cmake -S "$root" -B "$tmp/build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DFRUGAL_CUDA=OFF \
    -DCMAKE_FIND_ROOT_PATH="$tmp/prefix" -DCMAKE_FIND_ROOT_PATH_MODE_PACKAGE=ONLY \
    -DCMAKE_FIND_ROOT_PATH_MODE_INCLUDE=ONLY -DCMAKE_FIND_ROOT_PATH_MODE_LIBRARY=ONLY >"$tmp/configure.log" 2>&1 ||
    { cat "$tmp/configure.log"; echo "fetch_gpu_debs: the project does not configure against the set" >&2; exit 1; }
  # Every dependency CMake recorded must come from the prefix.
  outside=$(grep -E '^(OpenBLAS|spdlog|fmt|nlohmann_json|CLI11|GTest|ZLIB|JPEG)[A-Za-z_]*(_DIR|_INCLUDE_DIR|_LIBRARY_RELEASE|_LIBRARY)[:A-Z]*=' \
    "$tmp/build/CMakeCache.txt" | grep -v "$tmp/prefix" | grep -v 'NOTFOUND' || true)
  if [ -n "$outside" ]; then
    echo "fetch_gpu_debs: found outside the prefix:" >&2
    echo "$outside" >&2
    exit 1
  fi
  if [ "$mpi" = 1 ]; then
    # CMake's FindMPI through the unpacked compiler wrapper, which must name the prefix's headers.
    mkdir -p "$tmp/mpi"
    cat >"$tmp/mpi/CMakeLists.txt" <<'CMAKE'
cmake_minimum_required(VERSION 3.22)
project(mpi_check CXX)
find_package(MPI REQUIRED COMPONENTS CXX)
message(STATUS "MPI_CXX_INCLUDE_DIRS=${MPI_CXX_INCLUDE_DIRS}")
CMAKE
    if ! cmake -S "$tmp/mpi" -B "$tmp/mpi/build" >"$tmp/mpi.log" 2>&1 ||
       ! grep -q "MPI_CXX_INCLUDE_DIRS=$tmp/prefix" "$tmp/mpi.log"; then
      cat "$tmp/mpi.log"
      echo "fetch_gpu_debs: CMake does not find the unpacked Open MPI" >&2
      exit 1
    fi
  fi
  echo "fetch_gpu_debs: check passed: the project configures against the unpacked set alone"
fi
