#!/usr/bin/env bash
# Builds the Python package's wheel the way a user's `pip install ./python` does (scikit-build-core
# from PyPI, the library from this CMake tree: build/wheel/), installs it into a virtual
# environment (build/wheel-venv, with the system's numpy and pytest) and runs the package's CPU
# tests against the installed copy, not the source tree (no PYTHONPATH, no PERMJIT_LIBRARY):
#   scripts/wheel.sh          (run by scripts/dev.sh test; the wheel lands in build/dist/)
# The wheel is py3-none (ctypes over libpermjit.so), so the same file installs on any Python 3
# of the platform, e.g. on a GPU machine without a package index:
#   pip install --no-index --no-deps build/dist/permjit-*.whl
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BUILD=${PERMJIT_BUILD_DIR:-$ROOT/build}
VENV=$BUILD/wheel-venv
JOBS=${PERMJIT_JOBS:-$(nproc)}

start=$(date +%s)
if [[ ! -x $VENV/bin/python ]]; then
  /usr/bin/python3 -m venv --system-site-packages "$VENV"
fi
"$VENV/bin/pip" install -q --disable-pip-version-check "scikit-build-core>=0.10"
rm -rf "$BUILD/dist"
CMAKE_BUILD_PARALLEL_LEVEL=$JOBS "$VENV/bin/pip" wheel -q --disable-pip-version-check --no-deps \
  --no-build-isolation -w "$BUILD/dist" "$ROOT/python"
wheel=$(ls "$BUILD"/dist/permjit-*.whl)
"$VENV/bin/pip" install -q --disable-pip-version-check --no-deps --force-reinstall "$wheel"
echo "wheel: built and installed $(basename "$wheel") in $(($(date +%s) - start)) s"

# From outside the tree, so that `import permjit` can only find the installed package.
cd "$(mktemp -d)"
installed=$(env -u PYTHONPATH -u PERMJIT_LIBRARY "$VENV/bin/python" -c \
  "import permjit, os; print(os.path.dirname(permjit.__file__))")
case $installed in
  "$VENV"/*) ;;
  *)
    echo "wheel: imported permjit from $installed, not from $VENV" >&2
    exit 1
    ;;
esac
abi_layout=$(find "$BUILD/tests" -name permjit_c_abi_layout -type f -perm -u+x | head -1)
env -u PYTHONPATH -u PERMJIT_LIBRARY PERMJIT_CACHE_DIR="$PWD/cache" PYTHONDONTWRITEBYTECODE=1 \
  "$VENV/bin/python" -m pytest -q -p no:cacheprovider "$ROOT/python/tests" \
  --repo-root="$ROOT" --permjit-cli="$BUILD/bin/permjit" ${abi_layout:+--abi-layout="$abi_layout"}
