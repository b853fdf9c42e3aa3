#!/usr/bin/env bash
# Everything permjit runs on a GPU, in one call (../shared/design/GPU.md):
#   1. every test executable (GPU tests included; they skip only without a GPU),
#   2. the permjit benchmark (bench/permjit_bench) and the peer baselines (bench/baselines.py)
#      on the same card in the same run,
#   3. the joined table, printed last.
# Usage: bench/gpu_check.sh BIN_DIR OUT_DIR [quick]
set -uo pipefail
BIN=${1:?BIN_DIR (from scripts/pack_gpu.sh)}
OUT=${2:?OUT_DIR}
MODE=${3:-full}
HERE=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$OUT"
export PERMJIT_CACHE_DIR="$OUT/cache"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | tee "$OUT/card.txt"

status=0
echo "== tests"
[[ ${PERMJIT_SKIP_TESTS:-0} == 1 ]] && echo "(skipped: PERMJIT_SKIP_TESTS=1)"
for t in "$BIN"/tests/*; do
  [[ ${PERMJIT_SKIP_TESTS:-0} == 1 ]] && break
  name=$(basename "$t")
  if "$t" --gtest_brief=1 >"$OUT/$name.log" 2>&1; then
    echo "PASS $name ($(grep -c '^\[       OK' "$OUT/$name.log" || true) ok lines)"
  else
    echo "FAIL $name"; status=1
  fi
  grep -E '^\[  (FAILED|SKIPPED) ' "$OUT/$name.log" | head -20
  tail -3 "$OUT/$name.log"
done

echo "== benchmark"
: >"$OUT/results.jsonl"
if [[ -x "$BIN/permjit_bench" ]]; then
  "$BIN/permjit_bench" --mode "$MODE" >>"$OUT/results.jsonl" 2>"$OUT/bench.log" || {
    echo "permjit_bench failed"; tail -20 "$OUT/bench.log"; status=1; }
fi
shapes=("dense 32768 8" "dense 131072 8" "grid 131072 8" "ashape 32768 8" "ashape 131072 8"
  "dense 32768 8 --head-dim 64 --skip flex" "dense 32768 8 --dtype fp16 --skip flex")
[[ $MODE == quick ]] && shapes=("dense 32768 8" "grid 32768 8")
for s in "${shapes[@]}"; do
  set -- $s
  python3 "$HERE/baselines.py" --pattern "$1" --seq-len "$2" --heads "$3" "${@:4}" \
    >>"$OUT/results.jsonl" 2>>"$OUT/baselines.log" || echo "baseline $s failed"
done
echo "== table"
python3 "$HERE/table.py" "$OUT/results.jsonl" | tee "$OUT/table.md"
exit $status
