#!/usr/bin/env bash
# Everything permjit runs on a GPU, in one call (docs/gpu.md):
#   1. every test executable (GPU tests included; they skip only without a GPU),
#   2. the benchmark suite into OUT_DIR/bench (bench/run_suite.sh: permjit default and tuned,
#      SDPA flash / cuDNN and FlexAttention on the same card in the same run, within a time
#      budget; table.md, bench.png and the JSON lines there),
#   3. the joined table, printed last;
#   4. every log and result file packed into OUT_DIR/gpu_check.tar.gz (bench/table.md and
#      bench/bench.png stay unpacked too).
# Usage: bench/gpu_check.sh BIN_DIR OUT_DIR [quick|full] [BUDGET_S]
#   The tests take a minute or two before the suite's budget starts; for the benchmark alone
#   call bench/run_suite.sh (or set PERMJIT_SKIP_TESTS=1).
#   PERMJIT_SKIP_TESTS=1 skips step 1 (PERMJIT_SKIP_PYTHON=1 the Python package's check); PERMJIT_TEST_BINARIES=REGEX runs only the test
#   executables whose names match (e.g. 'tuning|runtime_api'); PERMJIT_SKIP_COLD=1 the cold-compile table
#   (bench/cold_compile.cpp, after the tests); PERMJIT_SKIP_SEARCH_BENCH=1 the offline search at a
#   model's scale (bench/search_bench.cpp; PERMJIT_SEARCH_BENCH_ARGS its arguments);
#   PERMJIT_SKIP_BENCH=1 skips step 2.
# Exit status 1 when a test or the suite failed.
set -uo pipefail
BIN=${1:?BIN_DIR (from scripts/pack_gpu.sh)}
OUT=${2:?OUT_DIR}
TIER=${3:-quick}
BUDGET=${4:-}
HERE=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$OUT"
# The kernel cache lives outside OUT: dozens of cubins would crowd the results out of what the
# device tool brings back.
PERMJIT_CACHE_DIR=$(mktemp -d "${TMPDIR:-/tmp}/permjit-gpu-check-cache.XXXXXX")
trap 'rm -rf "$PERMJIT_CACHE_DIR"' EXIT
export PERMJIT_CACHE_DIR

# A GPU test that skips here would hide a broken GPU path: make it fail instead.
export PERMJIT_TEST_REQUIRE_GPU=1

status=0
# Every test binary once per kernel family (PERMJIT_TEST_FAMILIES, default both): the sm_80
# family's cubin runs on Hopper too, so one card checks both. "sm90a" runs with the runtimes'
# default family (sm90a on this card; host-only tests for sm_80 keep theirs), "sm80" forces it.
for family in ${PERMJIT_TEST_FAMILIES:-sm80 sm90a}; do
  echo "== tests, kernel family $family"
  [[ ${PERMJIT_SKIP_TESTS:-0} == 1 ]] && { echo "(skipped: PERMJIT_SKIP_TESTS=1)"; break; }
  for t in "$BIN"/tests/*; do
    name=$(basename "$t")
    [[ $name =~ ${PERMJIT_TEST_BINARIES:-.} ]] || continue
    log="$OUT/$name.$family.log"
    if [[ $family == sm80 ]]; then family_env=(PERMJIT_KERNEL_FAMILY=sm80); else family_env=(); fi
    if env "${family_env[@]}" "$t" --gtest_brief=1 >"$log" 2>&1; then
      echo "PASS $name [$family] ($(grep -cE '^\[  PASSED' "$log" || true) passed line)"
    else
      echo "FAIL $name [$family]"; status=1
    fi
    grep -E '^\[  (FAILED|SKIPPED) ' "$log" | head -20
    tail -2 "$log"
  done
done

# The Python package on this GPU (python/tests/gpu_check.py: the torch op against the C API
# bitwise, torch.compile without graph breaks, CUDA-graph replay, bad inputs).
echo "== Python package (python/tests/gpu_check.py)"
if [[ ${PERMJIT_SKIP_PYTHON:-0} == 1 ]]; then
  echo "(skipped: PERMJIT_SKIP_PYTHON=1)"
elif ! python3 -c "import torch, numpy" 2>/dev/null; then
  echo "FAIL: python3 with torch and numpy is needed for the Python package's GPU check"; status=1
elif ! PYTHONPATH="$HERE/../python" PERMJIT_LIBRARY="$BIN/lib/libpermjit.so" \
    python3 "$HERE/../python/tests/gpu_check.py" >"$OUT/python_gpu_check.log" 2>&1; then
  echo "FAIL python/tests/gpu_check.py"; status=1
fi
grep -E "^(FAIL|SKIP)|passed" "$OUT/python_gpu_check.log" 2>/dev/null | head -20

# The Hopper family's kernels really use the warpgroup MMA and the tensor memory accelerator:
# HGMMA and UTMALDG in their SASS.
if command -v cuobjdump >/dev/null; then
  echo "== SASS of the sm90a family (grid head, both passes)"
  sass_dir=$(mktemp -d "${TMPDIR:-/tmp}/permjit-sass.XXXXXX")
  if PERMJIT_KERNEL_FAMILY=sm90a "$BIN/permjit" compile "$HERE/../docs/examples/grid_head.json" \
      --seq-len 32768 --arch sm_90a --emit cubin -o "$sass_dir/grid.cubin" 2>/dev/null; then
    for cubin in "$sass_dir"/*.cubin; do
      sass=$(cuobjdump -sass "$cubin")
      hgmma=$(grep -c HGMMA <<<"$sass" || true)
      utmaldg=$(grep -c UTMALDG <<<"$sass" || true)
      echo "$(basename "$cubin"): $hgmma HGMMA, $utmaldg UTMALDG instructions"
      ((hgmma > 0)) || { echo "FAIL: no HGMMA in $(basename "$cubin")"; status=1; }
      ((utmaldg > 0)) || { echo "FAIL: no UTMALDG in $(basename "$cubin")"; status=1; }
    done
  else
    echo "FAIL: permjit compile --emit cubin (sm90a)"; status=1
  fi
  rm -rf "$sass_dir"
fi

echo "== cold compile (every cache off: plan() to loaded kernels, front end vs ptxas)"
if [[ ${PERMJIT_SKIP_COLD:-0} == 1 ]]; then
  echo "(skipped: PERMJIT_SKIP_COLD=1)"
elif ! "$BIN/permjit_cold_compile" >"$OUT/cold_compile.log" 2>&1; then
  echo "FAIL permjit_cold_compile"; status=1
fi
sed -n "/^| new structure/,\$p" "$OUT/cold_compile.log" 2>/dev/null

echo "== offline search on the GPU (bench/search_bench.cpp: 28 layers x 28 heads at 32K, 2 inputs)"
if [[ ${PERMJIT_SKIP_SEARCH_BENCH:-0} == 1 ]]; then
  echo "(skipped: PERMJIT_SKIP_SEARCH_BENCH=1)"
elif ! "$BIN/permjit_search_bench" ${PERMJIT_SEARCH_BENCH_ARGS:-} >"$OUT/search_bench.log" 2>&1; then
  echo "FAIL permjit_search_bench"; tail -5 "$OUT/search_bench.log"; status=1
fi
grep -E 'search_model|^planted|pool of' "$OUT/search_bench.log" 2>/dev/null

if [[ ${PERMJIT_SKIP_BENCH:-0} == 1 ]]; then
  echo "== benchmark (skipped: PERMJIT_SKIP_BENCH=1)"
else
  bash "$HERE/run_suite.sh" "$BIN" "$OUT/bench" "$TIER" ${BUDGET:+"$BUDGET"} || status=1
fi
# The device tool brings back at most 8 files: every log and result goes into one archive;
# the table stays beside it.
ARCHIVE=$(mktemp "${TMPDIR:-/tmp}/gpu_check.XXXXXX.tar.gz")
if tar czf "$ARCHIVE" -C "$OUT" . && mv "$ARCHIVE" "$OUT/gpu_check.tar.gz"; then
  find "$OUT" -type f ! -name gpu_check.tar.gz ! -name table.md ! -name bench.png -delete
else
  echo "gpu_check.sh: packing the logs failed; they stay loose in $OUT"; status=1
fi
exit $status
