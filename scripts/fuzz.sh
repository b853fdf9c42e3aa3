#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz, clang + ASan/UBSan, no CUDA) in build-fuzz/
# and runs each over a fresh copy of its seed corpus for SECONDS_PER_TARGET seconds:
#   scripts/fuzz.sh [SECONDS_PER_TARGET]   (default 30; scripts/dev.sh test runs 20)
# Prints one summary line per target and exits non-zero when any target finds a crash, a hang
# (> 10 s on one input), a sanitizer report or an out-of-memory input. The inputs that did are
# kept in build-fuzz/artifacts/, the full logs in build-fuzz/logs/. Reproduce one with
#   build-fuzz/bin/fuzz_<target> build-fuzz/artifacts/<target>-crash-...
# Environment: PERMJIT_JOBS (build jobs, default nproc), PERMJIT_FUZZ_TARGETS (a space-separated
# subset, e.g. "pattern_file model_config").
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
SECONDS_PER_TARGET=${1:-30}
BUILD=$ROOT/build-fuzz
JOBS=${PERMJIT_JOBS:-$(nproc)}
TARGETS=(${PERMJIT_FUZZ_TARGETS:-json_strict pattern_json pattern_file model_config
  search_candidates tuning_db npy safetensors cache_entry mlir_dialect})

if ! [[ $SECONDS_PER_TARGET =~ ^[0-9]+$ ]] || ((SECONDS_PER_TARGET < 1)); then
  echo "usage: scripts/fuzz.sh [SECONDS_PER_TARGET]" >&2
  exit 2
fi
if ! command -v clang++ >/dev/null; then
  echo "fuzz: clang++ not found (Debian: apt-get install clang libclang-rt-14-dev)" >&2
  exit 1
fi

start=$(date +%s)
if [[ ! -f "$BUILD/build.ninja" ]]; then
  CC=clang CXX=clang++ cmake -S "$ROOT" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DPERMJIT_FUZZ=ON >/dev/null
fi
cmake --build "$BUILD" -j "$JOBS"
echo "fuzz: built in $(($(date +%s) - start)) s; ${SECONDS_PER_TARGET} s per target"

mkdir -p "$BUILD/artifacts" "$BUILD/logs"
# Stack traces on a UBSan report; libFuzzer's own options are on the command line.
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
# allow_user_poisoning=0 (as scripts/sanitize.sh): LLVM's BumpPtrAllocator, inlined into the
# instrumented dialect target, poisons slabs the prebuilt MLIR libraries write into, which would
# report use-after-poison on every MLIRContext. Bounds and lifetimes are still checked.
export ASAN_OPTIONS=allow_user_poisoning=0
failed=()
for target in "${TARGETS[@]}"; do
  seeds=$ROOT/tests/fuzz/corpus/$target
  corpus=$BUILD/corpus/$target
  log=$BUILD/logs/$target.log
  if [[ ! -x "$BUILD/bin/fuzz_$target" || ! -d "$seeds" ]]; then
    echo "fuzz: no target or seed corpus for '$target'" >&2
    exit 2
  fi
  rm -rf "$corpus"
  mkdir -p "$corpus"
  cp "$seeds"/* "$corpus"/
  rc=0
  "$BUILD/bin/fuzz_$target" -max_total_time="$SECONDS_PER_TARGET" -timeout=10 \
    -rss_limit_mb=2048 -max_len=8192 -dict="$ROOT/tests/fuzz/permjit.dict" \
    -artifact_prefix="$BUILD/artifacts/$target-" -print_final_stats=1 "$corpus" \
    >"$log" 2>&1 || rc=$?
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  done_line=$(grep -E '^#[0-9]+[[:space:]]+DONE' "$log" | tail -1 || true)
  cov=$(sed -nE 's/.* cov: ([0-9]+).*/\1/p' <<<"$done_line")
  ft=$(sed -nE 's/.* ft: ([0-9]+).*/\1/p' <<<"$done_line")
  corp=$(sed -nE 's/.* corp: ([0-9]+).*/\1/p' <<<"$done_line")
  if ((rc == 0)); then
    printf 'fuzz %-18s ok   %9s execs  cov %5s  ft %6s  corpus %5s\n' "$target" "${execs:-?}" \
      "${cov:-?}" "${ft:-?}" "${corp:-?}"
  else
    failed+=("$target")
    printf 'fuzz %-18s FAIL (exit %d) after %s execs: %s\n' "$target" "$rc" "${execs:-?}" \
      "$(grep -m1 -E 'invariant failed|runtime error:|what\(\):|ERROR: [A-Za-z]+' "$log" ||
        echo "see $log")"
    grep -E 'Test unit written to' "$log" | sed 's/^/     /' || true
  fi
done
echo "fuzz: done in $(($(date +%s) - start)) s"
if ((${#failed[@]})); then
  echo "fuzz: FAILED: ${failed[*]} (inputs in $BUILD/artifacts, logs in $BUILD/logs)" >&2
  exit 1
fi
