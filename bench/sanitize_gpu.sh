#!/usr/bin/env bash
# compute-sanitizer over the GPU correctness tests of both kernel families (docs/gpu.md):
# memcheck (out-of-bounds and misaligned global/shared accesses, leaks of device allocations)
# and racecheck (shared-memory hazards), each test binary's GPU cases under each tool.
# Usage: bench/sanitize_gpu.sh BIN_DIR OUT_DIR [memcheck racecheck ...]
#   BIN_DIR from scripts/pack_gpu.sh (build/gpu). PERMJIT_SANITIZE_FILTER overrides the gtest
#   filter (default: every GPU correctness suite; the sanitizers slow kernels 10-100x, so the
#   benchmark-sized tests are left out); PERMJIT_SANITIZE_TIMEOUT caps each run (seconds).
#   Exit status 1 when a tool reports an error (or a run fails or times out).
set -uo pipefail
BIN=${1:?BIN_DIR (from scripts/pack_gpu.sh)}
OUT=${2:?OUT_DIR}
shift 2
if [[ $# -gt 0 ]]; then TOOLS=("$@"); else TOOLS=(memcheck racecheck); fi
mkdir -p "$OUT"
if ! command -v compute-sanitizer >/dev/null; then
  for d in /usr/local/cuda/bin /usr/local/cuda/compute-sanitizer; do
    [[ -x $d/compute-sanitizer ]] && PATH=$d:$PATH
  done
fi
command -v compute-sanitizer >/dev/null || { echo "FAIL: compute-sanitizer not found"; exit 1; }
PERMJIT_CACHE_DIR=$(mktemp -d "${TMPDIR:-/tmp}/permjit-sanitize-cache.XXXXXX")
trap 'rm -rf "$PERMJIT_CACHE_DIR"' EXIT
export PERMJIT_CACHE_DIR PERMJIT_TEST_REQUIRE_GPU=1
FILTER=${PERMJIT_SANITIZE_FILTER:-'Plans/GpuCorrectness.*:Dynamic*Gpu*:GridEstimateGpu*'}
# PERMJIT_SANITIZE_FAMILIES: the kernel families (default both).
status=0
for tool in "${TOOLS[@]}"; do
  for family in ${PERMJIT_SANITIZE_FAMILIES:-sm80 sm90a}; do
    log="$OUT/$tool.$family.log"
    if [[ $family == sm80 ]]; then family_env=(PERMJIT_KERNEL_FAMILY=sm80); else family_env=(); fi
    start=$SECONDS
    env "${family_env[@]}" timeout "${PERMJIT_SANITIZE_TIMEOUT:-900}" compute-sanitizer --tool "$tool" --error-exitcode 99 \
      --print-limit 20 "$BIN/tests/permjit_runtime_api_tests" --gtest_brief=1 \
      --gtest_filter="$FILTER" >"$log" 2>&1
    rc=$?
    tests=$(grep -oE '^\[  PASSED  \] [0-9]+' "$log" | grep -oE '[0-9]+$' || echo 0)
    summary=$(grep -E 'ERROR SUMMARY|RACECHECK SUMMARY' "$log" | tail -1)
    if [[ $rc == 0 ]]; then
      echo "PASS $tool [$family]: $tests tests, ${summary:-no summary}, $((SECONDS - start)) s"
    else
      echo "FAIL $tool [$family] (exit $rc): ${summary:-see $log}"; status=1
      grep -E '^=========' "$log" | head -30
      grep -E '^\[  FAILED' "$log" | head -10
    fi
  done
done
exit $status
