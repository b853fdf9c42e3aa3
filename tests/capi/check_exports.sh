#!/usr/bin/env bash
# libpermjit.so exports exactly the C API: every defined dynamic symbol is a permjit_* function
# declared in include/permjit/permjit*_c.h, every such declaration is exported, and no LLVM or
# MLIR shared library is needed (they are linked in statically and kept local).
#   check_exports.sh <libpermjit.so> <include dir>
set -euo pipefail
lib=$1
include=$2
fail=0

exported=$(nm -D --defined-only "$lib" | awk '{print $3}' | sed 's/@.*//' | sort -u)
declared=$(cat "$include"/permjit/permjit*_c.h | grep -oE '\bpermjit_[a-z0-9_]+\(' | tr -d '(' |
  sort -u)
[[ -n "$exported" ]] || { echo "FAIL: $lib exports no symbol"; exit 1; }

others=$(grep -v '^permjit_' <<<"$exported" || true)
if [[ -n "$others" ]]; then
  echo "FAIL: exported symbols outside permjit_*:"
  head -20 <<<"$others"
  fail=1
fi
undeclared=$(comm -23 <(echo "$exported") <(echo "$declared"))
if [[ -n "$undeclared" ]]; then
  echo "FAIL: exported but declared in no public C header: $undeclared"
  fail=1
fi
missing=$(comm -13 <(echo "$exported") <(echo "$declared"))
if [[ -n "$missing" ]]; then
  echo "FAIL: declared in a public C header but not exported: $missing"
  fail=1
fi
needed=$(readelf -d "$lib" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')
if grep -qiE 'llvm|mlir' <<<"$needed"; then
  echo "FAIL: needs a shared LLVM/MLIR: $needed"
  fail=1
fi
if ((fail == 0)); then
  echo "ok: $(wc -l <<<"$exported") permjit_* symbols, all declared; needs: $(echo $needed)"
fi
exit $fail
