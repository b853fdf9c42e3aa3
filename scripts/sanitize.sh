#!/usr/bin/env bash
# The CPU tests under AddressSanitizer + UndefinedBehaviorSanitizer: a second build of the whole
# tree in build-asan/ (gcc, RelWithDebInfo, -fsanitize=address,undefined, UB fatal), then ctest
# there. GPU tests skip without a GPU as in the plain build; the Python package's tests are left
# out (an ASan libpermjit.so cannot load into a Python that lacks the ASan runtime).
# Usage: scripts/sanitize.sh   (after scripts/dev.sh build has installed the packages)
# Environment: PERMJIT_JOBS (default nproc), PERMJIT_ASAN_BUILD_DIR (default build-asan).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BUILD=${PERMJIT_ASAN_BUILD_DIR:-$ROOT/build-asan}
JOBS=${PERMJIT_JOBS:-$(nproc)}
FLAGS="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer"
start=$(date +%s)
if [[ ! -f "$BUILD/build.ninja" ]]; then
  CUDA=${CUDAToolkit_ROOT:-/usr/local/cuda}
  cmake -S "$ROOT" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCUDAToolkit_ROOT="$CUDA" -DPERMJIT_BUILD_BENCH=OFF \
    -DCMAKE_CXX_FLAGS="$FLAGS" -DCMAKE_C_FLAGS="$FLAGS" \
    -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=address,undefined" \
    -DCMAKE_SHARED_LINKER_FLAGS="-fsanitize=address,undefined" >/dev/null
fi
cmake --build "$BUILD" -j "$JOBS"
echo "sanitize: built in $(($(date +%s) - start)) s"
# allow_user_poisoning=0: LLVM's BumpPtrAllocator, inlined into our ASan-built code, poisons
# its slabs while the prebuilt (uninstrumented) MLIR libraries write into them; that pairing
# reports use-after-poison on every MLIRContext. Bounds, lifetime and leaks are still checked.
export ASAN_OPTIONS=detect_leaks=1:allow_user_poisoning=0:abort_on_error=0
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
ctest --test-dir "$BUILD" --output-on-failure -j "$JOBS" -E '^python_package_tests$'
echo "sanitize: done in $(($(date +%s) - start)) s"
