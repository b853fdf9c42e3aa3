#!/usr/bin/env bash
# Runs every command of the README's "Using it" block as written (the lines that start with
# `build/`), from a scratch directory that sees the repository's docs/ and tests/ and the build
# as build/, so a path the README gets wrong fails here. A command marked "# needs a GPU" must
# succeed with a GPU and, without one, fail with exit 1 and say that there is no GPU.
#   tests/readme/run_readme_commands.sh SOURCE_DIR BUILD_DIR
set -uo pipefail
SOURCE=${1:?SOURCE_DIR}
BUILD=${2:?BUILD_DIR}
SCRATCH=$(mktemp -d "${TMPDIR:-/tmp}/permjit-readme.XXXXXX")
trap 'rm -rf "$SCRATCH"' EXIT
ln -s "$SOURCE/docs" "$SCRATCH/docs"
ln -s "$SOURCE/tests" "$SCRATCH/tests"
ln -s "$BUILD" "$SCRATCH/build"
export PERMJIT_CACHE_DIR="$SCRATCH/cache"
cd "$SCRATCH" || exit 1

# The fenced block after the "## Using it" heading.
mapfile -t commands < <(awk '/^## Using it/ {in_section = 1; next}
  in_section && /^```/ {if (in_block) exit; in_block = 1; next}
  in_block && /^build\// {print}' "$SOURCE/README.md")
if ((${#commands[@]} < 3)); then
  echo "README.md: found ${#commands[@]} command(s) under '## Using it'; expected the block" >&2
  exit 1
fi
has_gpu=0
"$BUILD/bin/permjit" run --help >/dev/null 2>&1  # the binary must exist and answer
[[ -e /dev/nvidia0 || -e /dev/nvidiactl ]] && has_gpu=1
failed=0
for line in "${commands[@]}"; do
  command=${line%%#*}
  echo "\$ $command"
  output=$(bash -c "$command" 2>&1)
  status=$?
  if [[ $line == *"needs a GPU"* && $has_gpu == 0 ]]; then
    if [[ $status == 1 && ( $output == *"no CUDA driver"* || $output == *"cannot load libcuda"* ) ]]; then
      echo "  ok: no GPU here, and it says so"
      continue
    fi
    echo "  FAILED: expected exit 1 naming the missing GPU; got $status: $output" >&2
    failed=1
    continue
  fi
  if [[ $status != 0 ]]; then
    echo "  FAILED with exit $status:" >&2
    echo "$output" | tail -20 >&2
    failed=1
  else
    echo "  ok ($(echo "$output" | wc -l) lines of output)"
  fi
done
exit $failed
