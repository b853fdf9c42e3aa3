#!/usr/bin/env bash
# The project's files must not point outside the repository (its docs stand alone): no file
# names a sibling checkout's folder or a document that only lives there.
#   tests/readme/check_docs_stand_alone.sh SOURCE_DIR
set -uo pipefail
SOURCE=${1:?SOURCE_DIR}
cd "$SOURCE" || exit 1
pattern='\.\./shared|shared/design|BRIEF\.md|ANCHORS\.md|MMINFERENCE\.md|ARCHITECTURE\.md|DEVICE\.md'
hits=$(grep -rnE "$pattern" --exclude-dir=.git --exclude-dir='build*' --exclude-dir=.cache \
  --exclude=check_docs_stand_alone.sh . || true)
if [[ -n $hits ]]; then
  echo "these lines refer to files outside the repository:" >&2
  echo "$hits" >&2
  exit 1
fi
echo "no references outside the repository"
