#!/usr/bin/env bash
# Unpacks every .deb of a folder into a prefix with `dpkg -x` (no maintainer scripts, nothing outside the
# prefix: a machine whose own packages must not change, such as a lent GPU machine), repairs what the
# maintainer scripts would have set up, and writes PREFIX/env.sh, which points CMake and the loader at it.
#
#   scripts/unpack_debs.sh DEBS_DIR PREFIX
#   . PREFIX/env.sh    # CMAKE_PREFIX_PATH, LD_LIBRARY_PATH (and OPAL_PREFIX, PATH with Open MPI)
#
# Used by scripts/gpu_check.sh on the GPU machine and by scripts/fetch_gpu_debs.sh --check here.
set -euo pipefail

if [ $# -ne 2 ]; then
  echo "usage: $0 DEBS_DIR PREFIX" >&2
  exit 2
fi
debs="$1"
prefix="$(mkdir -p "$2" && cd "$2" && pwd)"
shopt -s nullglob
files=("$debs"/*.deb)
if [ ${#files[@]} -eq 0 ]; then
  echo "unpack_debs: no .deb files in '$debs' (run scripts/fetch_gpu_debs.sh on the development machine)" >&2
  exit 2
fi
for f in "${files[@]}"; do dpkg -x "$f" "$prefix"; done

# Links with absolute targets (zlib1g-dev's libz.so -> /lib/x86_64-linux-gnu/libz.so.1.2.13) would
# reach the machine's own files, which may be other versions or absent: point them into the prefix.
while IFS= read -r link; do
  target="$(readlink "$link")"
  if [ "${target#/}" != "$target" ] && [ -e "$prefix$target" ]; then ln -sfn "$prefix$target" "$link"; fi
done < <(find "$prefix" -type l)

multiarch="lib/x86_64-linux-gnu"
lib="$prefix/usr/$multiarch"
# Debian selects the OpenBLAS variant through update-alternatives in a maintainer script, which dpkg -x
# does not run; its CMake config also names /usr paths. Point both at the pthread variant in the prefix.
openblas_dir="$lib/openblas-pthread/cmake/openblas"
if [ -f "$openblas_dir/OpenBLASConfig.cmake" ]; then
  sed -i "s#/usr/include/#$prefix/usr/include/#; s#/usr/$multiarch/#$lib/#" "$openblas_dir/OpenBLASConfig.cmake"
  mkdir -p "$lib/cmake/openblas"  # the package ships it empty, for the alternative's links
  for f in "$openblas_dir"/*.cmake; do ln -sf "$f" "$lib/cmake/openblas/"; done
fi

# The unsuffixed Open MPI commands (mpicxx, mpirun) are alternatives links too.
for tool in "$prefix"/usr/bin/*.openmpi; do
  [ -e "$tool" ] && ln -sfn "$(basename "$tool")" "${tool%.openmpi}"
done

{
  echo "# Written by scripts/unpack_debs.sh: the packages unpacked into $prefix."
  echo "export CMAKE_PREFIX_PATH=\"$prefix/usr\${CMAKE_PREFIX_PATH:+:\$CMAKE_PREFIX_PATH}\""
  echo "export LD_LIBRARY_PATH=\"$lib:$lib/openblas-pthread:$prefix/$multiarch\${LD_LIBRARY_PATH:+:\$LD_LIBRARY_PATH}\""
  if [ -d "$lib/openmpi" ]; then
    # Open MPI finds its own files relative to OPAL_PREFIX when it is not where it was built for (/usr).
    echo "export OPAL_PREFIX=\"$prefix/usr\""
    echo "export PATH=\"$prefix/usr/bin:\$PATH\""
    echo "export LD_LIBRARY_PATH=\"$lib/openmpi/lib:\$LD_LIBRARY_PATH\""
  fi
} > "$prefix/env.sh"
echo "unpack_debs: ${#files[@]} packages in $prefix; source $prefix/env.sh"
