#!/usr/bin/env bash
# Build here, then gather what runs on the GPU machine into build/gpu (git-ignored), stripped:
# every test executable, the benchmark and the CLI, plus the benchmark's scripts
# (build/gpu/bench: run_suite.sh, gpu_check.sh, suite.py, baselines.py, table.py, plot.py), so
# the folder alone runs everything. Fails when it would exceed 60 MB.
# Send it with the device tool's carry=["build/gpu"] and run, from the repository root:
#   bash bench/gpu_check.sh build/gpu "$OUT" quick    (tests + benchmark suite)
#   bash bench/run_suite.sh build/gpu "$OUT" full     (benchmark suite only)
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${PERMJIT_BUILD_DIR:-$PWD/build}
bash scripts/dev.sh build
rm -rf build/gpu && mkdir -p build/gpu/tests build/gpu/bench
for exe in $(find "$BUILD/tests" -maxdepth 2 -type f -executable -name '*_tests' ! -name 'permjit_cli_tests'); do
  strip -o "build/gpu/tests/$(basename "$exe")" "$exe"
done
for exe in "$BUILD/bin/permjit" "$BUILD/bench/permjit_bench" "$BUILD/bench/permjit_cold_compile"; do
  [[ -f $exe ]] || { echo "pack_gpu.sh: $exe was not built" >&2; exit 1; }
  strip -o "build/gpu/$(basename "$exe")" "$exe"
done
cp bench/run_suite.sh bench/gpu_check.sh bench/suite.py bench/baselines.py bench/table.py \
  bench/plot.py build/gpu/bench/
du -sh build/gpu
size_kb=$(du -sk build/gpu | cut -f1)
if ((size_kb > 60 * 1024)); then
  echo "pack_gpu.sh: build/gpu is ${size_kb} KB, above the 60 MB limit" >&2
  exit 1
fi
