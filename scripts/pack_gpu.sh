#!/usr/bin/env bash
# Build here, then gather what runs on the GPU machine into build/gpu (git-ignored), stripped:
# every test executable, the benchmark, the CLI and libpermjit.so (build/gpu/lib), plus the
# benchmark's scripts (build/gpu/bench: run_suite.sh, gpu_check.sh, suite.py, baselines.py,
# table.py, plot.py), so the folder alone runs everything; packed into
# build/gpu-pack/gpu.tar.gz (below). On the GPU machine, from the repository root, after
# unpacking:
#   bash bench/gpu_check.sh build/gpu "$OUT" quick    (tests + cold compile + benchmark suite)
#   bash bench/run_suite.sh build/gpu "$OUT" full     (benchmark suite only)
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${PERMJIT_BUILD_DIR:-$PWD/build}
bash scripts/dev.sh build
rm -rf build/gpu && mkdir -p build/gpu/tests build/gpu/bench
for exe in $(find "$BUILD/tests" -maxdepth 2 -type f -executable -name '*_tests' ! -name 'permjit_cli_tests'); do
  strip -o "build/gpu/tests/$(basename "$exe")" "$exe"
done
for exe in "$BUILD/bin/permjit" "$BUILD/bench/permjit_bench" "$BUILD/bench/permjit_cold_compile" \
  "$BUILD/bench/permjit_search_bench"; do
  [[ -f $exe ]] || { echo "pack_gpu.sh: $exe was not built" >&2; exit 1; }
  strip -o "build/gpu/$(basename "$exe")" "$exe"
done
# The racecheck probe (bench/sanitize_gpu.sh), where nvcc is there to build it.
NVCC=$(command -v nvcc || echo /usr/local/cuda/bin/nvcc)
if [[ -x $NVCC ]]; then
  "$NVCC" -arch=sm_90a -O2 -lineinfo -cudart static -o build/gpu/racecheck_probe bench/racecheck_probe.cu
else
  echo "pack_gpu.sh: no nvcc; bench/sanitize_gpu.sh runs without the racecheck probe" >&2
fi
# libpermjit.so for the Python package (python/ travels with the working tree):
#   PYTHONPATH=python PERMJIT_LIBRARY=build/gpu/lib/libpermjit.so python3 python/tests/gpu_check.py
mkdir -p build/gpu/lib
strip --strip-unneeded -o build/gpu/lib/libpermjit.so "$BUILD/lib/libpermjit.so"
cp bench/run_suite.sh bench/gpu_check.sh bench/sanitize_gpu.sh bench/suite.py bench/baselines.py bench/table.py \
  bench/plot.py build/gpu/bench/
# The device tool carries at most 64 MiB with the working tree: send one compressed archive
# (carry=["build/gpu-pack"]) and unpack it there first:
#   tar xzf build/gpu-pack/gpu.tar.gz -C build && bash bench/gpu_check.sh build/gpu "$OUT" quick
rm -rf build/gpu-pack && mkdir -p build/gpu-pack
tar czf build/gpu-pack/gpu.tar.gz -C build gpu
du -sh build/gpu build/gpu-pack/gpu.tar.gz
size_kb=$(du -sk build/gpu-pack | cut -f1)
if ((size_kb > 56 * 1024)); then
  echo "pack_gpu.sh: build/gpu-pack is ${size_kb} KB, above the 56 MB it may take" >&2
  exit 1
fi
