#!/usr/bin/env bash
# compute-sanitizer over the GPU correctness tests of both kernel families (docs/gpu.md):
# memcheck (out-of-bounds and misaligned global/shared accesses, leaks of device allocations)
# and racecheck (shared-memory hazards), each test binary's GPU cases under each tool.
# racecheck does not model mbarrier ordering: on the sm90a family it reports the ring's slot
# handoff (Ring::publish_slot by the producer, Ring::read_slot by the consumers; ordered by the
# slot's K barriers, pj_attention_sm90.cuh). Those reports are counted and accepted; any hazard
# with another access on either side fails. bench/racecheck_probe.cu (built by
# scripts/pack_gpu.sh when nvcc is there) shows the tool doing so on a kernel that is correct by
# construction, and that it reports a real race (the probe without its barriers).
# Usage: bench/sanitize_gpu.sh BIN_DIR OUT_DIR [memcheck racecheck ...]
#   BIN_DIR from scripts/pack_gpu.sh (build/gpu). PERMJIT_SANITIZE_FILTER overrides the gtest
#   filter (default: every GPU correctness suite; the sanitizers slow kernels 10-100x, so the
#   benchmark-sized tests are left out); PERMJIT_SANITIZE_TIMEOUT caps each run (seconds).
#   Exit status 1 when a tool reports an error other than the handoff above (or a run fails or
#   times out).
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
# -lineinfo kernels (PERMJIT_LINEINFO): the reports name the line of the generated source or
# embedded header, not only a PC.
export PERMJIT_CACHE_DIR PERMJIT_TEST_REQUIRE_GPU=1 PERMJIT_LINEINFO=1
FILTER=${PERMJIT_SANITIZE_FILTER:-'Plans/GpuCorrectness.*:Dynamic*Gpu*:GridEstimateGpu*'}
# PERMJIT_SANITIZE_FAMILIES: the kernel families (default both).
# Hazard reports of a racecheck log: a report names its first access, then one "and" line per
# access it races with. Prints the reports, the (first, second) access pairs, how many pairs are
# the slot handoff (one side in publish_slot, the other in read_slot), and how many reports have
# no pair line (a format this does not read: never accepted).
classify_hazards() {
  awk '
    function close_report() { if (open && paired == 0) unpaired++; open = 0; paired = 0 }
    /Race reported between/ { close_report(); reports++; open = 1; first = $0; next }
    /^=========     and (Read|Write) access at/ && open {
      pairs++; paired++
      if ((first ~ /publish_slot/ && $0 ~ /read_slot/) || (first ~ /read_slot/ && $0 ~ /publish_slot/)) {
        handoff++
      } else if (other++ < 5) {
        print "  not the slot handoff: " substr(first, 1, 160) > "/dev/stderr"
        print "    and: " substr($0, 1, 160) > "/dev/stderr"
      }
      next
    }
    /^========= *$/ || /RACECHECK SUMMARY/ { close_report() }
    END { close_report(); printf "%d %d %d %d\n", reports, pairs, handoff, unpaired }' "$1"
}

if [[ -x $BIN/racecheck_probe ]] && [[ " ${TOOLS[*]} " == *" racecheck "* ]]; then
  for mode in 0 1; do
    log="$OUT/racecheck.probe$mode.log"
    compute-sanitizer --tool racecheck --print-limit 1 "$BIN/racecheck_probe" $mode >"$log" 2>&1
    probe_rc=$?
    echo "racecheck probe, mode $mode ($( ((mode)) && echo "mbarrier handoff" || echo "no ordering")):" \
      "$(grep -m1 'racecheck_probe mode' "$log"); $(grep -m1 'RACECHECK SUMMARY' "$log" | sed 's/=* *//')"
    # The handoff itself must read every word exactly (exit 1: a wrong sum, 2: no GPU).
    if ((mode == 1 && probe_rc != 0)); then
      echo "FAIL racecheck probe, mode 1 (exit $probe_rc): the mbarrier handoff lost words"
      probe_failed=1
    fi
  done
else
  echo "(racecheck probe not built: scripts/pack_gpu.sh builds it when nvcc is there)"
fi

status=${probe_failed:-0}
for tool in "${TOOLS[@]}"; do
  for family in ${PERMJIT_SANITIZE_FAMILIES:-sm80 sm90a}; do
    log="$OUT/$tool.$family.log"
    if [[ $family == sm80 ]]; then family_env=(PERMJIT_KERNEL_FAMILY=sm80); else family_env=(); fi
    start=$SECONDS
    # Every report printed (racecheck groups them by first access), so each can be classified.
    env "${family_env[@]}" timeout "${PERMJIT_SANITIZE_TIMEOUT:-900}" compute-sanitizer --tool "$tool" --error-exitcode 99 \
      --print-limit 100000 "$BIN/tests/permjit_runtime_api_tests" --gtest_brief=1 \
      --gtest_filter="$FILTER" >"$log" 2>&1
    rc=$?
    tests=$(grep -oE '^\[  PASSED  \] [0-9]+' "$log" | grep -oE '[0-9]+$' || echo 0)
    summary=$(grep -E 'ERROR SUMMARY|RACECHECK SUMMARY' "$log" | tail -1)
    handoff_only=0
    if [[ $tool == racecheck && $rc == 99 ]] && ! grep -q '^\[  FAILED' "$log" && ((tests > 0)); then
      read -r shown pairs handoff unpaired < <(classify_hazards "$log")
      errors=$(grep -oE '\([0-9]+ errors' <<<"$summary" | grep -oE '[0-9]+')
      warnings=$(grep -oE '[0-9]+ warnings' <<<"$summary" | grep -oE '[0-9]+')
      # Every report printed and read, every pair of every report the handoff.
      ((pairs > 0 && pairs == handoff && unpaired == 0 &&
        shown == ${errors:-0} + ${warnings:-0})) && handoff_only=1
    fi
    if [[ $rc == 0 ]]; then
      echo "PASS $tool [$family]: $tests tests, ${summary:-no summary}, $((SECONDS - start)) s"
    elif ((handoff_only)); then
      echo "PASS $tool [$family]: $tests tests; $errors reports, $pairs access pairs, every one the" \
        "slot handoff (publish_slot / read_slot, mbarrier-ordered), $((SECONDS - start)) s"
    else
      echo "FAIL $tool [$family] (exit $rc): ${summary:-see $log}"; status=1
      grep -E '^=========' "$log" | head -30
      grep -E '^\[  FAILED' "$log" | head -10
    fi
  done
done
exit $status
