#!/usr/bin/env bash
# The device check of the CUDA backend, one command on a machine with a GPU (under 8 minutes on the lent
# H100/H200 machines, docs/gpu.md): unpacks the Debian packages that scripts/fetch_gpu_debs.sh
# downloaded beforehand into a prefix (the machine's own packages stay untouched), finds cuDNN (the
# CUDA toolkit's, else the one PyTorch's wheels bring), builds frugal with CUDA, runs the `cuda` tests,
# then `frugal bench` on CUDA against PyTorch's CUDA training step (scripts/bench/vs_pytorch_cuda.py)
# and prints one table.
#
#   scripts/gpu_check.sh [--dry-run] [--skip-tests] [--skip-bench] [--build DIR] [--out DIR]
#                        [--models LIST] [--modes LIST] [--steps N] [--warmup N]
#
#   --dry-run     check what can be checked without a GPU (scripts, packages, tools) and print the
#                 commands instead of running them
#   --build DIR   build folder (default: build-gpu)
#   --out DIR     where results go (default: $OUT when set, as on the device machine, else the build folder)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="$root/build-gpu"
out="${OUT:-}"
debs="$root/.gpu-debs"
prefix="/tmp/frugal-gpu-prefix"
dry_run=0
tests=1
bench=1
bench_args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --dry-run) dry_run=1; shift ;;
    --skip-tests) tests=0; shift ;;
    --skip-bench) bench=0; shift ;;
    --build) build="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    --models|--modes|--steps|--warmup) bench_args+=("$1" "$2"); shift 2 ;;
    -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
    *) echo "gpu_check: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
out="${out:-$build}"
start=$SECONDS

step() { echo "== gpu_check [$((SECONDS - start)) s]: $*"; }
run() {
  echo "  \$ $*"
  if [ "$dry_run" = 0 ]; then "$@"; fi
}
fail() {
  echo "gpu_check: $*" >&2
  exit 1
}

step "tools"
python=python3
for tool in cmake ninja "$python"; do
  command -v "$tool" >/dev/null || fail "'$tool' is not on the PATH"
done
nvcc="${CUDACXX:-/usr/local/cuda/bin/nvcc}"
if [ ! -x "$nvcc" ]; then nvcc="$(command -v nvcc || true)"; fi
if [ -n "$nvcc" ]; then
  echo "  nvcc: $nvcc ($("$nvcc" --version | grep -o 'release [0-9.]*'))"
elif [ "$dry_run" = 1 ]; then
  echo "  nvcc: not found here (the GPU machine has it)"
else
  fail "nvcc not found (set CUDACXX)"
fi
if command -v nvidia-smi >/dev/null; then
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | sed 's/^/  gpu: /'
elif [ "$dry_run" = 0 ]; then
  fail "nvidia-smi not found: no GPU driver on this machine"
fi

step "Debian packages"
if [ -d "$debs" ] && compgen -G "$debs/*.deb" >/dev/null; then
  run "$root/scripts/unpack_debs.sh" "$debs" "$prefix"
  if [ "$dry_run" = 0 ]; then
    # shellcheck disable=SC1091
    . "$prefix/env.sh"
  fi
else
  echo "  no $debs: using the machine's own packages (run scripts/fetch_gpu_debs.sh on the development machine)"
fi

step "cuDNN"
cudnn_root=""
for dir in "${CUDNN_ROOT:-}" /usr/local/cuda /usr; do
  if [ -n "$dir" ] && compgen -G "$dir/include/cudnn*.h" >/dev/null; then cudnn_root="$dir"; break; fi
done
if [ -z "$cudnn_root" ]; then
  # PyTorch's CUDA wheels bring cuDNN as the Python package nvidia-cudnn-*: headers and versioned
  # libraries, without the unversioned libcudnn.so a linker asks for. A shim folder adds those links.
  wheel="$("$python" -c 'import nvidia.cudnn, os; print(list(nvidia.cudnn.__path__)[0])' 2>/dev/null || true)"
  if [ -n "$wheel" ] && [ -d "$wheel/include" ]; then
    cudnn_root="/tmp/frugal-cudnn"
    run mkdir -p "$cudnn_root/lib"
    run ln -sfn "$wheel/include" "$cudnn_root/include"
    for lib in "$wheel"/lib/libcudnn*.so.*; do
      base="$(basename "$lib")"
      run ln -sf "$lib" "$cudnn_root/lib/$base"
      run ln -sf "$lib" "$cudnn_root/lib/${base%%.so.*}.so"
    done
  fi
fi
if [ -n "$cudnn_root" ]; then
  echo "  cuDNN in $cudnn_root"
  export CUDNN_ROOT="$cudnn_root"
  export CMAKE_PREFIX_PATH="$cudnn_root${CMAKE_PREFIX_PATH:+:$CMAKE_PREFIX_PATH}"
  export LD_LIBRARY_PATH="$cudnn_root/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
else
  echo "  cuDNN not found (needed once the cuDNN kernels are in)"
fi

step "build ($build)"
run cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DFRUGAL_CUDA=ON \
  ${nvcc:+-DCMAKE_CUDA_COMPILER="$nvcc"}
run cmake --build "$build" -j "$(nproc)" --target frugal test_cuda
run "$build/frugal" --version
run "$build/frugal" devices
run mkdir -p "$out"

if [ "$tests" = 1 ]; then
  step "ctest -L cuda"
  # Each test's result, skips by name included, goes to the log; the summary is the last lines.
  if [ "$dry_run" = 0 ]; then
    set +e
    ctest --test-dir "$build" -L cuda --output-on-failure --timeout 300 -j 4 2>&1 | tee "$out/ctest_cuda.log"
    ctest_rc=${PIPESTATUS[0]}
    set -e
  else
    run ctest --test-dir "$build" -L cuda --output-on-failure --timeout 300 -j 4
    ctest_rc=0
  fi
fi

if [ "$bench" = 1 ]; then
  step "frugal vs PyTorch on the GPU"
  bench_cmd=("$python" "$root/scripts/bench/vs_pytorch_cuda.py" --frugal "$build/frugal" --python "$python"
             --markdown "$out/gpu_bench.md" --json "$out/gpu_bench.json" "${bench_args[@]}")
  echo "  \$ ${bench_cmd[*]}"
  # The bench script's own dry run checks its arguments and prints every command it would run.
  if [ "$dry_run" = 1 ]; then bench_cmd+=(--dry-run); fi
  "${bench_cmd[@]}"
fi

step "done"
if [ "$tests" = 1 ] && [ "${ctest_rc:-0}" != 0 ]; then
  echo "gpu_check: cuda tests failed (ctest exit $ctest_rc; $out/ctest_cuda.log)" >&2
  exit 1
fi
