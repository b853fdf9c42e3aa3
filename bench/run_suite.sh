#!/usr/bin/env bash
# The benchmark suite on one GPU, in one call, within a time budget (docs/gpu.md):
#   1. checks first, failing at once: the bench binary, a GPU, python3 with torch (CUDA),
#      triton, numpy and matplotlib;
#   2. the case list of the tier (bench/suite.py: which patterns, lengths, dtypes, head dims,
#      which cases are tuned and which get FlexAttention), for the patterns the binary
#      supports (permjit_bench --list-patterns: vertical_slash joins when the build plans it);
#   3. permjit_bench: compile and cache latencies, then every case (default plan, and the
#      autotuner on the same shape where tune=1), until 60% of the budget is spent (NVRTC
#      compiles of every plan and tuning candidate are part of it);
#   4. baselines.py on the same card: SDPA flash and cuDNN (dense causal), FlexAttention on the
#      same mask, until the whole budget is spent (later cases are reported as skipped);
#   5. table.md (bench/table.py) printed last, and bench.png (bench/plot.py).
# Usage: bench/run_suite.sh BIN_DIR OUT_DIR [quick|full] [BUDGET_S]
#   PERMJIT_SUITE_PATTERNS=grid,grid_estimated restricts the run to those patterns;
#   PERMJIT_SUITE_CASES=FILE runs that case list (suite.py's format) instead of the tier's.
#   BIN_DIR from scripts/pack_gpu.sh (build/gpu); budget default quick 200 s, full 400 s.
#   Cases start only before the deadline and one case takes at most ~30 s (FlexAttention's
#   block mask at 1M), so the wall time is at most the budget + ~60 s (checks, torch import,
#   the last case, table and plot): quick ~4 min, full ~7.5 min.
# Writes OUT_DIR/{cases.txt,permjit.jsonl,baselines.jsonl,results.jsonl,table.md,bench.png,
# permjit.log,baselines.log,tuning.json,card.txt}. Exit status 1 when anything failed (the
# table still prints), 2 when a check of step 1 failed.
set -euo pipefail
BIN=${1:?usage: run_suite.sh BIN_DIR OUT_DIR [quick|full] [BUDGET_S]}
OUT=${2:?usage: run_suite.sh BIN_DIR OUT_DIR [quick|full] [BUDGET_S]}
TIER=${3:-quick}
HERE=$(cd "$(dirname "$0")" && pwd)
case $TIER in
  quick) BUDGET=${4:-200}; TIME_CAP=1.0; TUNE_CAP=6; CANDIDATES=6 ;;
  full) BUDGET=${4:-400}; TIME_CAP=1.5; TUNE_CAP=6; CANDIDATES=6 ;;
  *) echo "run_suite.sh: tier '$TIER'; allowed: quick, full" >&2; exit 2 ;;
esac
die() { echo "run_suite.sh: $*" >&2; exit 2; }

BENCH=$BIN/permjit_bench
[[ -x $BENCH ]] || die "$BENCH: missing or not executable (run scripts/pack_gpu.sh)"
command -v nvidia-smi >/dev/null || die "nvidia-smi not found: no GPU driver here"
python3 - <<'EOF' || die "python3 needs torch with CUDA, triton, numpy and matplotlib"
import torch, triton, numpy, matplotlib
assert torch.cuda.is_available(), "torch sees no CUDA device"
EOF
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
# The kernel cache outside OUT (cubins need not travel back with the results).
if [[ -z ${PERMJIT_CACHE_DIR:-} ]]; then
  PERMJIT_CACHE_DIR=$(mktemp -d "${TMPDIR:-/tmp}/permjit-suite-cache.XXXXXX")
  trap 'rm -rf "$PERMJIT_CACHE_DIR"' EXIT
fi
export PERMJIT_CACHE_DIR
# A fresh tuning database: the tuned rows come from this run only.
export PERMJIT_TUNING_DB=$OUT/tuning.json
rm -f "$PERMJIT_TUNING_DB" "$PERMJIT_TUNING_DB.lock"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | tee "$OUT/card.txt"

PATTERNS=$("$BENCH" --list-patterns | paste -sd, -) || die "permjit_bench --list-patterns failed"
# PERMJIT_SUITE_PATTERNS=a,b: only these of the supported patterns (a focused run).
if [[ -n ${PERMJIT_SUITE_PATTERNS:-} ]]; then
  for p in ${PERMJIT_SUITE_PATTERNS//,/ }; do
    [[ ,$PATTERNS, == *,$p,* ]] || die "PERMJIT_SUITE_PATTERNS: '$p'; allowed: $PATTERNS"
  done
  PATTERNS=$PERMJIT_SUITE_PATTERNS
fi
# PERMJIT_SUITE_CASES=FILE: this case list (suite.py's format) instead of the tier's.
if [[ -n ${PERMJIT_SUITE_CASES:-} ]]; then
  [[ -r $PERMJIT_SUITE_CASES ]] || die "PERMJIT_SUITE_CASES: cannot read '$PERMJIT_SUITE_CASES'"
  grep -v '^#' "$PERMJIT_SUITE_CASES" | while read -r pattern _; do
    [[ -z $pattern || ,$PATTERNS, == *,$pattern,* ]] ||
      die "PERMJIT_SUITE_CASES: pattern '$pattern'; allowed: $PATTERNS"
  done
  cp "$PERMJIT_SUITE_CASES" "$OUT/cases.txt"
else
  python3 "$HERE/suite.py" "$TIER" --patterns "$PATTERNS" >"$OUT/cases.txt"
fi
echo "== $TIER: $(grep -vc '^#' "$OUT/cases.txt") cases ($PATTERNS), budget ${BUDGET}s"

START=$(date +%s)
status=0
echo "== permjit_bench"
"$BENCH" --cases "$OUT/cases.txt" --jit --deadline $((START + BUDGET * 6 / 10)) \
  --time-cap-s "$TIME_CAP" --tune-cap-s "$TUNE_CAP" --max-candidates "$CANDIDATES" \
  >"$OUT/permjit.jsonl" 2>"$OUT/permjit.log" || {
  echo "permjit_bench FAILED (exit $?); last lines of permjit.log:"; tail -25 "$OUT/permjit.log"
  status=1; }
grep -E '^permjit_bench: .* ms \(' "$OUT/permjit.log" || true
if ! grep -q '"baseline"' "$OUT/permjit.jsonl"; then
  echo "run_suite.sh: permjit_bench produced no case results; not running the baselines" >&2
  exit 1
fi
echo "== baselines ($(($(date +%s) - START))s so far)"
python3 "$HERE/baselines.py" --cases "$OUT/cases.txt" --deadline $((START + BUDGET)) \
  --time-cap-s "$TIME_CAP" >"$OUT/baselines.jsonl" 2>"$OUT/baselines.log" || {
  echo "baselines.py FAILED (exit $?); last lines of baselines.log:"
  tail -15 "$OUT/baselines.log"; status=1; }
echo "== done in $(($(date +%s) - START))s"
cat "$OUT/permjit.jsonl" "$OUT/baselines.jsonl" >"$OUT/results.jsonl"
python3 "$HERE/plot.py" "$OUT/results.jsonl" "$OUT/bench.png" || { echo "plot FAILED"; status=1; }
echo "== table"
# table.py exits 1 on failed rows or a kept-pair mismatch; the table prints either way.
python3 "$HERE/table.py" "$OUT/results.jsonl" >"$OUT/table.md" || status=1
cat "$OUT/table.md"
exit $status
