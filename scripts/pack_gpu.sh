#!/usr/bin/env bash
# Build here, then gather what runs on the GPU machine into build/gpu (git-ignored), stripped:
# every test executable, the benchmark and the CLI. Send it with the device tool's
# carry=["build/gpu"] and run: bash bench/gpu_check.sh build/gpu "$OUT"
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${PERMJIT_BUILD_DIR:-$PWD/build}
bash scripts/dev.sh build
rm -rf build/gpu && mkdir -p build/gpu/tests
for exe in $(find "$BUILD/tests" -maxdepth 2 -type f -executable -name '*_tests' ! -name 'permjit_cli_tests'); do
  strip -o "build/gpu/tests/$(basename "$exe")" "$exe"
done
for exe in "$BUILD/tools/permjit/permjit" "$BUILD/bench/permjit_bench"; do
  [[ -f $exe ]] && strip -o "build/gpu/$(basename "$exe")" "$exe"
done
du -sh build/gpu
