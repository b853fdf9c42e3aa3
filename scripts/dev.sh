#!/usr/bin/env bash
# One entry point for a fresh Debian 12 machine (run as root, or with sudo available):
#   scripts/dev.sh demo   install what is missing, build, run the demo
#   scripts/dev.sh test   install what is missing, build, run every test (and the Python
#                         package's again from its built wheel), fuzz each reader 20 s
#   scripts/dev.sh build  install what is missing and build only
# Idempotent: packages already present are not reinstalled; the build is incremental.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BUILD=${PERMJIT_BUILD_DIR:-$ROOT/build}
JOBS=${PERMJIT_JOBS:-$(nproc)}

PACKAGES=(cmake ninja-build g++ python3 libmlir-19-dev mlir-19-tools llvm-19-dev llvm-19-tools
  libfmt-dev nlohmann-json3-dev libgtest-dev libgmock-dev libzstd-dev zlib1g-dev libpng-dev
  python3-numpy python3-pytest python3-venv  # the Python package's tests and its wheel
  clang libclang-rt-14-dev)  # the fuzz targets (scripts/fuzz.sh); libFuzzer is only recommended

install_packages() {
  local missing=()
  for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if ((${#missing[@]})); then
    echo "setup: installing ${missing[*]}"
    local sudo=""
    [[ $(id -u) -eq 0 ]] || sudo=sudo
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
      "${missing[@]}" >/dev/null
  fi
}

find_cuda() {
  # NVRTC comes with the CUDA toolkit the machine image provides (/usr/local/cuda).
  for d in "${CUDA_HOME:-}" /usr/local/cuda /usr/local/cuda-13.0 /usr/lib/cuda; do
    if [[ -n "$d" && -f "$d/include/nvrtc.h" ]]; then
      export CUDAToolkit_ROOT=$d
      return 0
    fi
  done
  echo "setup: no CUDA toolkit with NVRTC found (looked in \$CUDA_HOME, /usr/local/cuda)." >&2
  echo "setup: install the CUDA 13 toolkit (it provides nvrtc.h and libnvrtc.so)." >&2
  exit 1
}

build() {
  find_cuda
  if [[ ! -f "$BUILD/build.ninja" ]]; then
    cmake -S "$ROOT" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release \
      -DCUDAToolkit_ROOT="$CUDAToolkit_ROOT" >/dev/null
  fi
  cmake --build "$BUILD" -j "$JOBS"
}

cmd=${1:-demo}
case "$cmd" in
  demo)
    install_packages
    build
    "$BUILD/bin/permjit" demo
    ;;
  test)
    install_packages
    build
    ctest --test-dir "$BUILD" --output-on-failure -j "$JOBS"
    # The Python package as users get it: the wheel built by scikit-build-core, installed into
    # build/wheel-venv, its CPU tests run against the installed copy.
    bash scripts/wheel.sh
    # Every reader under libFuzzer + ASan/UBSan, briefly (build-fuzz/; under 5 minutes on 2 cores).
    bash scripts/fuzz.sh 20
    # The CPU tests again, built with ASan + UBSan (build-asan/).
    bash scripts/sanitize.sh
    ;;
  build)
    install_packages
    build
    ;;
  *)
    echo "usage: scripts/dev.sh demo|test|build" >&2
    exit 2
    ;;
esac
